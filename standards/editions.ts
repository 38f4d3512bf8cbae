// When the 2026 editions apply. Observation times are compared in Beijing time (UTC+8).

/** HJ 633-2026 and GB 3095-2026 (transition limits) apply from 2026-03-01 00:00 Beijing time. */
export const EDITION_2026_FROM = Date.UTC(2026, 1, 28, 16);
/** GB 3095-2026 final limits apply from 2031-01-01 00:00 Beijing time. */
export const GB3095_FINAL_FROM = Date.UTC(2030, 11, 31, 16);

// Telling the operator of a new alarm while they look elsewhere: a browser notification when the page
// may show one, else a short beep (WebAudio). Off until the operator turns it on; the choice is kept in
// the browser. Only new alarm events notify: never what a retained message restates on (re)connect.
import type { EventView } from '../network-view.ts';

const KEY = 'qc-notify';

export class Notifier {
  on: boolean;
  /** What was done for each event, for the page's own record (and its tests). */
  readonly told: { dev: string; how: 'notification' | 'beep' }[] = [];
  private audio?: AudioContext;

  constructor(private store: Storage) {
    this.on = store.getItem(KEY) === 'on';
  }

  /** Turns it on or off; asks for permission to notify when turned on (a click allows the request). */
  async set(on: boolean): Promise<void> {
    this.on = on;
    this.store.setItem(KEY, on ? 'on' : 'off');
    if (on && typeof Notification !== 'undefined' && Notification.permission === 'default')
      await Notification.requestPermission().catch(() => 'denied');
    // A click is what lets a page start audio later.
    if (on) this.audio ??= new AudioContext();
  }

  /** A new alarm event (open, update or a one-off event; a close is good news and stays quiet). */
  tell(e: EventView, title: string, body: string): void {
    if (!this.on || e.state === 'close') return;
    if (typeof Notification !== 'undefined' && Notification.permission === 'granted') {
      new Notification(title, { body, tag: `${e.dev}|${e.rule}|${e.field}` });
      this.told.push({ dev: e.dev, how: 'notification' });
      return;
    }
    this.beep();
    this.told.push({ dev: e.dev, how: 'beep' });
  }

  private beep(): void {
    try {
      const ctx = (this.audio ??= new AudioContext());
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.2, ctx.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + 0.4);
      osc.connect(gain).connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.4);
    } catch {
      // No audio (a kiosk without a sound device): the table still shows the event.
    }
  }
}

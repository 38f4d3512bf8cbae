// A private influxd on a free port in a throw-away directory: the one `qingcheng stack` starts.
export { Influxd } from '../../cli/services/influxd.ts';

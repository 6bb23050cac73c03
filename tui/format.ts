// Short, fixed-width renderings of numbers and times for a terminal table.

/** 0ms, 45ms, 1.2s, 12s, 3m05s: lag and durations as a person reads them. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const rounded = Math.max(0, Math.round(ms));
  if (rounded < 1_000) return `${rounded}ms`;
  if (rounded < 10_000) return `${(rounded / 1_000).toFixed(1)}s`;
  if (rounded < 60_000) return `${Math.round(rounded / 1_000)}s`;
  const minutes = Math.floor(rounded / 60_000);
  const seconds = Math.floor((rounded % 60_000) / 1_000);
  return minutes < 60 ? `${minutes}m${String(seconds).padStart(2, '0')}s` : `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** 1:05, 12:00, 1:02:03: how long the dashboard has been up. */
export function formatUptime(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1_000));
  const hours = Math.floor(total / 3_600);
  const minutes = Math.floor((total % 3_600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

/** 950, 1.2k, 12k, 3.4M: counts and axis labels in at most 5 characters. */
export function formatCount(value: number): string {
  if (!Number.isFinite(value)) return '?';
  const sign = value < 0 ? '-' : '';
  const magnitude = Math.abs(value);
  if (magnitude < 1_000) return `${sign}${Number.isInteger(magnitude) ? magnitude : magnitude < 10 ? magnitude.toFixed(1) : Math.round(magnitude)}`;
  if (magnitude < 10_000) return `${sign}${(magnitude / 1_000).toFixed(1)}k`;
  if (magnitude < 1_000_000) return `${sign}${Math.round(magnitude / 1_000)}k`;
  return `${sign}${(magnitude / 1_000_000).toFixed(1)}M`;
}

/** 3.4KiB, 12MiB: sizes. */
export function formatBytes(bytes: number): string {
  if (bytes < 1_024) return `${bytes}B`;
  if (bytes < 1_024 * 1_024) return `${(bytes / 1_024).toFixed(bytes < 10 * 1_024 ? 1 : 0)}KiB`;
  return `${(bytes / 1_024 / 1_024).toFixed(bytes < 10 * 1_024 * 1_024 ? 1 : 0)}MiB`;
}

/** 14:03:12.345 in local time: when an event happened. */
export function formatClock(atMs: number): string {
  const date = new Date(atMs);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

/** Cuts `text` to `width` characters, marking the cut with an ellipsis. */
export function fit(text: string, width: number): string {
  if (width <= 0) return '';
  if (text.length <= width) return text;
  return width === 1 ? '…' : `${text.slice(0, width - 1)}…`;
}

export function padRight(text: string, width: number): string {
  return fit(text, width).padEnd(width);
}

export function padLeft(text: string, width: number): string {
  return fit(text, width).padStart(width);
}

/** Breaks `text` into lines of at most `width` characters at spaces; a longer word is cut. */
export function wrap(text: string, width: number): string[] {
  const room = Math.max(1, width);
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(/\s+/).filter((w) => w !== '')) {
      let rest = word;
      while (rest.length > room) {
        if (line !== '') {
          lines.push(line);
          line = '';
        }
        lines.push(rest.slice(0, room));
        rest = rest.slice(room);
      }
      if (line === '') line = rest;
      else if (line.length + 1 + rest.length <= room) line = `${line} ${rest}`;
      else {
        lines.push(line);
        line = rest;
      }
    }
    lines.push(line);
  }
  return lines;
}

/** A byte position in PostgreSQL's own LSN notation, as pg_current_wal_lsn() prints it: 9489784 → "0/90CD78". */
export function formatLsn(bytes: number): string {
  const high = Math.floor(bytes / 2 ** 32);
  const low = bytes - high * 2 ** 32;
  return `${high.toString(16).toUpperCase()}/${low.toString(16).toUpperCase()}`;
}

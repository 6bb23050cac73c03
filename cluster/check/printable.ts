// Text from a history file is untrusted: a key or an error string can hold a
// terminal escape (ESC ] 0 ; … BEL retitles the window, ESC [ 2 J clears it)
// or a bidi override that reorders what a reader sees. Everything the check
// report prints from the file goes through `printable` first, which shows
// such characters as visible escapes (`\x1b`, `\n`, `\u{202e}`).

/**
 * C0 controls, DEL, C1 controls, bidi embeddings/overrides/isolates, the line
 * and paragraph separators, zero-width and other invisible format characters,
 * the BOM, and lone surrogates (with the u flag a valid pair is one code point,
 * so only a lone half matches).
 */
const unsafe = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]|[\ud800-\udfff]/gu;
const unsafeOrBackslash = new RegExp(`${unsafe.source}|\\\\`, 'gu');

const named: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\\': '\\\\' };

function escapeOne(char: string): string {
  const known = named[char];
  if (known !== undefined) return known;
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

/**
 * `text` with every character a terminal would act on (or hide) shown as an
 * escape. Backslashes are doubled too, so `\x1b` in the output always means
 * ESC and never four characters someone typed; pass `{ backslash: false }`
 * for text that already holds escapes of its own (a JSON snippet).
 */
export function printable(text: string, options: { readonly backslash?: boolean } = {}): string {
  const pattern = options.backslash === false ? unsafe : unsafeOrBackslash;
  pattern.lastIndex = 0;
  return pattern.test(text) ? text.replace(pattern, escapeOne) : text;
}

/** `text` in double quotes, printable, with `"` escaped: how the report shows values. */
export function quoted(text: string): string {
  return `"${printable(text).replace(/"/g, '\\"')}"`;
}

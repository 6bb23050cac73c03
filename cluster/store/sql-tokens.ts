// A tokenizer that follows SQLite's own (tokenize.c) closely enough for the
// lexical checks: string literals, quoted identifiers and comments are skipped
// as units, so a word inside 'a string', "a name" or /* a comment */ is never
// mistaken for a keyword or a function.

export type TokenType =
  | 'word' // a keyword or a bare identifier
  | 'quoted' // an identifier in "double quotes", `backticks` or [brackets]
  | 'string' // a 'string literal'
  | 'blob' // x'00ff'
  | 'number'
  | 'param' // ?, ?NNN, :name, @name, $name
  | 'symbol'; // operators and punctuation: ( ) ; , . = || …

export interface Token {
  readonly type: TokenType;
  /** The source text, quotes included. */
  readonly text: string;
  /** Words upper-cased; strings and quoted identifiers unquoted and unescaped. */
  readonly value: string;
  /** Offset of the first character in the SQL text. */
  readonly start: number;
}

/** SQL that cannot be tokenized: an unterminated literal or a character SQLite does not accept. */
export class TokenizeError extends Error {
  override name = 'TokenizeError';
}

const symbols3 = ['->>'];
const symbols2 = ['||', '<=', '>=', '==', '!=', '<>', '<<', '>>', '->'];
const symbols1 = '();,.=<>+-*/%&|~';

function isWordStart(char: string): boolean {
  return /[A-Za-z_]/.test(char) || char.charCodeAt(0) > 0x7f;
}

function isWordChar(char: string): boolean {
  return /[A-Za-z0-9_$]/.test(char) || char.charCodeAt(0) > 0x7f;
}

/** The offset just after a quoted run that opened at `start` and closes with `close` (doubled = escaped). */
function scanQuoted(sql: string, start: number, close: string, escapable: boolean): number {
  let at = start + 1;
  for (;;) {
    const found = sql.indexOf(close, at);
    if (found < 0) throw new TokenizeError(`unterminated ${close === "'" ? 'string literal' : 'quoted identifier'} starting at offset ${start}: ${sql.slice(start, start + 20)}`);
    if (escapable && sql[found + 1] === close) {
      at = found + 2;
      continue;
    }
    return found + 1;
  }
}

function unquote(text: string): string {
  const open = text[0];
  const inner = text.slice(1, -1);
  if (open === '[') return inner;
  const close = open === '`' ? '`' : open === '"' ? '"' : "'";
  return inner.split(close + close).join(close);
}

/** The end of a number starting at `start` (decimal, hex, exponent, digit separators). */
function scanNumber(sql: string, start: number): number {
  let at = start;
  if (/0[xX]/.test(sql.slice(at, at + 2))) {
    at += 2;
    while (at < sql.length && /[0-9A-Fa-f_]/.test(sql[at] ?? '')) at++;
    return at;
  }
  while (at < sql.length && /[0-9_.]/.test(sql[at] ?? '')) at++;
  if (/[eE]/.test(sql[at] ?? '') && /[0-9]|[+-][0-9]/.test(sql.slice(at + 1, at + 3))) {
    at += 2;
    while (at < sql.length && /[0-9_]/.test(sql[at] ?? '')) at++;
  }
  return at;
}

/** Every token of `sql` in order, comments and whitespace dropped; throws TokenizeError. */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  const push = (type: TokenType, end: number, value?: string): void => {
    const text = sql.slice(at, end);
    tokens.push({ type, text, value: value ?? text, start: at });
    at = end;
  };
  while (at < sql.length) {
    const char = sql[at] ?? '';
    const next = sql[at + 1] ?? '';
    // ASCII whitespace only, as SQLite: any other character above 0x7f belongs to an identifier.
    if (/[ \t\n\v\f\r]/.test(char)) {
      at++;
    } else if (char === '-' && next === '-') {
      const end = sql.indexOf('\n', at);
      at = end < 0 ? sql.length : end + 1;
    } else if (char === '/' && next === '*') {
      // As in SQLite, an unterminated block comment runs to the end of the input.
      const end = sql.indexOf('*/', at + 2);
      at = end < 0 ? sql.length : end + 2;
    } else if (char === "'") {
      const end = scanQuoted(sql, at, "'", true);
      push('string', end, unquote(sql.slice(at, end)));
    } else if (char === '"' || char === '`' || char === '[') {
      const end = scanQuoted(sql, at, char === '[' ? ']' : char, char !== '[');
      push('quoted', end, unquote(sql.slice(at, end)));
    } else if ((char === 'x' || char === 'X') && next === "'") {
      const end = scanQuoted(sql, at + 1, "'", false);
      push('blob', end);
    } else if (/[0-9]/.test(char) || (char === '.' && /[0-9]/.test(next))) {
      push('number', scanNumber(sql, at));
    } else if (char === '?') {
      let end = at + 1;
      while (/[0-9]/.test(sql[end] ?? '')) end++;
      push('param', end);
    } else if ((char === ':' || char === '@' || char === '$') && isWordChar(next)) {
      let end = at + 1;
      while (end < sql.length && isWordChar(sql[end] ?? '')) end++;
      push('param', end);
    } else if (isWordStart(char)) {
      let end = at + 1;
      while (end < sql.length && isWordChar(sql[end] ?? '')) end++;
      push('word', end, sql.slice(at, end).toUpperCase());
    } else {
      const symbol = [...symbols3, ...symbols2].find((s) => sql.startsWith(s, at)) ?? (symbols1.includes(char) ? char : null);
      if (symbol === null) throw new TokenizeError(`unrecognized character ${JSON.stringify(char)} at offset ${at}`);
      push('symbol', at + symbol.length);
    }
  }
  return tokens;
}

/** The offset just after the `)` matching the `(` at tokens[open], or tokens.length when it is missing. */
export function matchingParen(tokens: readonly Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    const text = tokens[i]?.text;
    if (text === '(') depth++;
    else if (text === ')' && --depth === 0) return i + 1;
  }
  return tokens.length;
}

/** True for a token that SQLite reads as an identifier, never a keyword. */
export function isIdentifier(token: Token | undefined): boolean {
  return token !== undefined && (token.type === 'quoted' || (token.type === 'word' && !sqliteKeywords.has(token.value)));
}

/** SQLite's keywords (https://sqlite.org/lang_keywords.html). */
export const sqliteKeywords: ReadonlySet<string> = new Set(
  `ABORT ACTION ADD AFTER ALL ALTER ALWAYS ANALYZE AND AS ASC ATTACH AUTOINCREMENT BEFORE BEGIN BETWEEN BY
  CASCADE CASE CAST CHECK COLLATE COLUMN COMMIT CONFLICT CONSTRAINT CREATE CROSS CURRENT CURRENT_DATE
  CURRENT_TIME CURRENT_TIMESTAMP DATABASE DEFAULT DEFERRABLE DEFERRED DELETE DESC DETACH DISTINCT DO DROP
  EACH ELSE END ESCAPE EXCEPT EXCLUDE EXCLUSIVE EXISTS EXPLAIN FAIL FILTER FIRST FOLLOWING FOR FOREIGN FROM
  FULL GENERATED GLOB GROUP GROUPS HAVING IF IGNORE IMMEDIATE IN INDEX INDEXED INITIALLY INNER INSERT INSTEAD
  INTERSECT INTO IS ISNULL JOIN KEY LAST LEFT LIKE LIMIT MATCH MATERIALIZED NATURAL NO NOT NOTHING NOTNULL
  NULL NULLS OF OFFSET ON OR ORDER OTHERS OUTER OVER PARTITION PLAN PRAGMA PRECEDING PRIMARY QUERY RAISE
  RANGE RECURSIVE REFERENCES REGEXP REINDEX RELEASE RENAME REPLACE RESTRICT RETURNING RIGHT ROLLBACK ROW ROWS
  SAVEPOINT SELECT SET TABLE TEMP TEMPORARY THEN TIES TO TRANSACTION TRIGGER UNBOUNDED UNION UNIQUE UPDATE
  USING VACUUM VALUES VIEW VIRTUAL WHEN WHERE WINDOW WITH WITHOUT`.split(/\s+/),
);

// The store's public surface: the node process and tests import from here.
export { Store } from './store.js';
export type { RollbackRecord } from './rollback.js';
export { recordedWrites } from './rollback.js';
export type { ApplyResult, QueryResult, RollbackOptions, SqlValue, StoreOptions } from './types.js';
export { findStatementProblem, statementTextKnown, validateStatement } from './validate.js';
export { encodeStatement, decodeStatement, type SqlParam, type Statement } from './statement.js';
export { EnvironmentError } from './sqlite-errors.js';
export { StatementError, MalformedEntryError, StoreAssertionError, type StatementProblem } from './errors.js';
export * as storeLimits from './constants.js';

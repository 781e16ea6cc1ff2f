/**
 * undici's pool and its errors, imported from their own files: undici's index also loads fetch,
 * WebSocket, its caches and its mocks, none of which Bursar uses, and Node keeps every loaded
 * module's source and bytecode resident (docs/architecture.md, "Memory"). The types are undici's own.
 */
declare module 'undici/lib/dispatcher/pool.js' {
  import { Pool } from 'undici';
  export default Pool;
}

declare module 'undici/lib/core/errors.js' {
  import { errors } from 'undici';
  export default errors;
}

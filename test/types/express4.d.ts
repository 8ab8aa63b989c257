// Express 4 under an npm alias (`express4`), for the Express adapters' tests on both majors:
// typed as Express (5) is, which covers what those tests use.
declare module 'express4' {
  import express from 'express';
  export default express;
}

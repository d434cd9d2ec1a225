// SPDX-License-Identifier: Apache-2.0
/** The worker's bundle as text (scripts/build-web.mjs builds web/worker.ts first and provides it). */
declare module 'worker-source' {
  const text: string;
  export default text;
}

// SPDX-License-Identifier: Apache-2.0
/** The TPM transport layer: TCTI strings, the checked transport, and swtpm's control channel. */
export { CHECKED_DEFAULTS, CheckedTransport, type CheckedTransportOptions } from './checked.js';
export {
  controlEndpointFor,
  PTM_INIT_FLAG_DELETE_VOLATILE,
  SWTPM_CMD,
  SWTPM_INFO,
  SwtpmControl,
} from './control.js';
export { DEFAULT_DEADLINE_MS, DeadlineTransport, type DeadlineTransportOptions } from './deadline.js';
export { DeviceTransport, type DeviceTransportOptions } from './device.js';
export { type Envelope, mssimEnvelope, rawEnvelope, TPM_HEADER_SIZE } from './envelope.js';
export { type OpenTransportOptions, openTransport, START_SWTPM_HINT } from './open.js';
export { describeEndpoint, type SocketEndpoint } from './socket.js';
export { StreamTransport, type StreamTransportOptions } from './stream.js';
export {
  DEFAULT_DEVICE,
  DEFAULT_HOST,
  DEFAULT_PORT,
  formatTcti,
  type ParsedTcti,
  parseTcti,
  resolveTcti,
  type TcpEndpoint,
} from './tcti.js';
export type { RawTransport, Transport } from './transport.js';

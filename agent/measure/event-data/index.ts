// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/event-data
 *
 * Decodes the event data of TCG PC Client event log records into the structures the TCG PC Client
 * Platform Firmware Profile (PFP) defines for each event type, keeping the PFP's structure and field names:
 * UEFI_VARIABLE_DATA (with EFI_SIGNATURE_LISTs, SecureBoot, BootOrder and EFI_LOAD_OPTION values decoded),
 * UEFI_IMAGE_LOAD_EVENT, UEFI_GPT_DATA, UEFI_PLATFORM_FIRMWARE_BLOB(2), UEFI_HANDOFF_TABLE_POINTERS(2),
 * TCG_PCClientTaggedEvent, the EV_SEPARATOR value, string events, and the EV_NO_ACTION structures (Spec ID
 * events, StartupLocality, SP800-155 platform id events, NV index events). The layouts are checked
 * against tpm2_eventlog's decoding of the 44 real logs in test/vectors/eventlog (event-data.test.ts).
 * NvIndexInstance/NvIndexDynamic are decoded only up to their version field; the rest is kept raw.
 *
 * Event data comes from outside: `decodeEventData` never throws for any event. Data that does not decode
 * for its type is `{ kind: 'undecodable', code: 'E_EVENTDATA_MALFORMED', reason, at }` with `at` the byte
 * offset within the event data where decoding failed. Types without a defined structure are `{ kind: 'raw' }`.
 *
 * The modules, by the PFP's groups: variables.ts (UEFI variables and signature databases), image.ts (image
 * loads and the GPT), firmware-tables.ts (firmware blobs and handoff tables), text.ts (strings, separators,
 * tagged events), no-action.ts (EV_NO_ACTION structures), decode.ts (the dispatch by event type), and
 * common.ts (limits and the bounded reader they share).
 *
 * Not covered: that the data matches the event's digest (event-check.ts), X.509 parsing of certificates
 * (they are returned as DER bytes), and any UEFI variable value other than those named above.
 */
export { EVENTDATA_LIMITS, STRUCT_PADDING_TOLERANCE } from './common.js';
export {
  type DecodedEventData,
  decodeEventData,
  type EventDataErrorCode,
  type RawEventData,
  type UndecodableEventData,
} from './decode.js';
export type {
  UefiConfigurationTable,
  UefiHandoffTablePointers,
  UefiHandoffTablePointers2,
  UefiPlatformFirmwareBlob,
  UefiPlatformFirmwareBlob2,
} from './firmware-tables.js';
export type { GptHeader, GptPartition, UefiGptData, UefiImageLoadEvent } from './image.js';
export type {
  NoActionEventData,
  NvIndexEventData,
  Sp800155PlatformIdData,
  SpecIdEvent00Data,
  SpecIdEventData,
  StartupLocalityData,
} from './no-action.js';
export type { SeparatorEventData, StringEventData, TaggedEventData } from './text.js';
export {
  EFI_CERT_SHA256_GUID,
  EFI_CERT_X509_GUID,
  EFI_GLOBAL_VARIABLE,
  EFI_IMAGE_SECURITY_DATABASE_GUID,
  type EfiLoadOption,
  type EfiSignatureData,
  type EfiSignatureList,
  type UefiVariableData,
  type VariableValue,
} from './variables.js';

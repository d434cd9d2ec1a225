// SPDX-License-Identifier: Apache-2.0
// The hash contract on the scalar build of wasm-core.
import { createWasmCore } from '../../wasm-core/index.js';
import { describeHashContract, wasmCoreImpl } from './hash-contract.js';

describeHashContract(wasmCoreImpl('wasm-core scalar', await createWasmCore({ variant: 'scalar' })));

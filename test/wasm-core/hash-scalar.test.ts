// SPDX-License-Identifier: Apache-2.0
// The hash contract on the scalar build of wasm-core.
import { createWasmCore } from '../../wasm-core/index.js';
import { describeHashContract, type HashImpl } from './hash-contract.js';

const core = await createWasmCore({ variant: 'scalar' });

export const scalarImpl: HashImpl = {
  name: 'wasm-core scalar',
  hash: {
    sha1: (d) => core.sha1(d),
    sha256: (d) => core.sha256(d),
    sha384: (d) => core.sha384(d),
    sha512: (d) => core.sha512(d),
  },
  create: {
    sha1: () => core.createSha1(),
    sha256: () => core.createSha256(),
    sha384: () => core.createSha384(),
    sha512: () => core.createSha512(),
  },
};

describeHashContract(scalarImpl);

// SPDX-License-Identifier: Apache-2.0
// The hash contract on the oracles themselves, @noble/hashes and node:crypto, so that a vector or a
// sweep that only our code passes would show up as a failure here.
import { describeHashContract, NOBLE_IMPL, NODE_IMPL } from './hash-contract.js';

describeHashContract(NOBLE_IMPL);
describeHashContract(NODE_IMPL);

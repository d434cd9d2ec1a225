// SPDX-License-Identifier: Apache-2.0
/**
 * @peculiar/x509 with what it needs loaded first: its dependency tsyringe refuses to load without the
 * `reflect-metadata` polyfill (imported first: modules evaluate in import order), and its crypto
 * provider is set to node:crypto's WebCrypto. Import x509 from here, never from '@peculiar/x509'.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };

/**
 * Deposit addresses derived from an extended public key must be the addresses whose private keys the
 * operator holds: the public derivation from the xpub equals the private derivation from the mnemonic.
 */
import { HDKey } from '@scure/bip32';
import { mnemonicToSeedSync } from '@scure/bip39';
import { mnemonicToAccount } from 'viem/accounts';
import { deriveDepositAddress, MAX_DERIVATION_INDEX, parseExtendedPublicKey } from '../../src/chain/deposit-address.ts';

// The well-known development mnemonic (Hardhat, Anvil): its accounts are public test vectors.
const MNEMONIC = 'test test test test test test test test test test test junk';
const ACCOUNT_PATH = "m/44'/60'/0'/0";
const accountNode = HDKey.fromMasterSeed(mnemonicToSeedSync(MNEMONIC)).derive(ACCOUNT_PATH);
const xpub = accountNode.publicExtendedKey;

describe('deposit address derivation', () => {
  it('matches the published addresses of the development mnemonic', () => {
    expect(xpub).toMatch(/^xpub/);
    expect(deriveDepositAddress(xpub, 0)).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
    expect(deriveDepositAddress(xpub, 1)).toBe('0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
    expect(deriveDepositAddress(xpub, 2)).toBe('0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC');
  });

  it('equals the private derivation of the same index, up to the largest non-hardened index', () => {
    for (const index of [3, 17, 1000, 123_456, 2 ** 24 + 5, MAX_DERIVATION_INDEX]) {
      expect([index, deriveDepositAddress(xpub, index)]).toEqual([index, mnemonicToAccount(MNEMONIC, { path: `${ACCOUNT_PATH}/${index}` as `m/44'/60'/${string}` }).address]);
    }
  });

  it('gives every prepay its own address', () => {
    const addresses = new Set(Array.from({ length: 50 }, (_, index) => deriveDepositAddress(xpub, index)));
    expect(addresses.size).toBe(50);
  });

  it('accepts a testnet tpub', () => {
    const testnet = HDKey.fromMasterSeed(mnemonicToSeedSync(MNEMONIC), { private: 0x04358394, public: 0x043587cf }).derive(ACCOUNT_PATH);
    expect(testnet.publicExtendedKey).toMatch(/^tpub/);
    expect(deriveDepositAddress(testnet.publicExtendedKey, 0)).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
  });

  it('refuses a private key, a malformed key and an index outside the non-hardened range', () => {
    expect(() => parseExtendedPublicKey(accountNode.privateExtendedKey)).toThrow(/extended public key/);
    expect(() => parseExtendedPublicKey(`${xpub.slice(0, -1)}x`)).toThrow();
    expect(() => deriveDepositAddress(xpub, -1)).toThrow(RangeError);
    expect(() => deriveDepositAddress(xpub, MAX_DERIVATION_INDEX + 1)).toThrow(RangeError);
    expect(() => deriveDepositAddress(xpub, 1.5)).toThrow(RangeError);
  });
});

/** The chain variables: optional as a whole, consistent when present, and read into one settings shape. */
import { HDKey } from '@scure/bip32';
import { mnemonicToSeedSync } from '@scure/bip39';
import { DEV_DEPOSIT_MNEMONIC, DEV_DEPOSIT_XPUB, loadConfig } from '../../src/config.ts';
import { chainSettingsOf, requiredConfirmations } from '../../src/chain/settings.ts';
import { signWatcherReport, verifyWatcherSignature } from '../../src/chain/watcher-signature.ts';

const base = { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/payment_engine' };
// the account node m/44'/60'/0'/0 of the BIP39 test mnemonic "abandon … about"
const XPUB = 'xpub6EF8jXqFeFEW5bwMU7RpQtHkzE4KJxcqJtvkCjJumzW8CPpacXkb92ek4WzLQXjL93HycJwTPUAcuNxCqFPKKU5m5Z2Vq4nCyh5CyPeBFFr';
const ANKR = '0x8290333ceF9e6D528dD5618Fb97a76f268f3EDD4';

function problems(env: Record<string, string>): string {
  try {
    loadConfig({ ...base, ...env });
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}

describe('chain configuration', () => {
  it('needs no chain variable at all, and then has no chain', () => {
    const config = loadConfig(base);
    expect(config).toMatchObject({ CHAIN_CONFIRMATIONS: 12, WATCHER_BLOCK_RANGE: 1000, WATCHER_POLL_SECONDS: 12, PRICE_FEED_MAX_AGE_SECONDS: 300 });
    expect(chainSettingsOf(config)).toBeNull();
  });

  it('reads a configured chain, addresses lower-case, decimals by currency', () => {
    const config = loadConfig({ ...base, CHAIN_ID: '1', CHAIN_RPC_URL: 'https://rpc.example/v1', DEPOSIT_XPUB: XPUB, TOKEN_ANKR_ERC20_ADDRESS: ANKR, CHAIN_CONFIRMATIONS: '20' });
    expect(chainSettingsOf(config)).toEqual({
      chainId: 1,
      rpcUrl: 'https://rpc.example/v1',
      depositXpub: XPUB,
      tokens: [{ currency: 'ANKR_ERC20', address: ANKR.toLowerCase(), decimals: 18 }],
      confirmations: 20,
    });
    expect(() => chainSettingsOf(loadConfig({ ...base, CHAIN_ID: '1', DEPOSIT_XPUB: `${XPUB.slice(0, -1)}s` }))).toThrow(/DEPOSIT_XPUB is not a valid extended public key/);
    const finalized = chainSettingsOf(loadConfig({ ...base, CHAIN_ID: '1', CHAIN_CONFIRMATIONS: 'finalized' }))!;
    expect(finalized.confirmations).toBe('finalized');
    expect(requiredConfirmations(finalized)).toBe(64);
  });

  it('names what is missing or malformed', () => {
    expect(problems({ CHAIN_RPC_URL: 'https://rpc.example' })).toMatch(/CHAIN_ID is required when CHAIN_RPC_URL or DEPOSIT_XPUB is set/);
    expect(problems({ CHAIN_ID: '1', CHAIN_RPC_URL: 'https://rpc.example' })).toMatch(/TOKEN_ANKR_ERC20_ADDRESS or TOKEN_USDT_ERC20_ADDRESS is required/);
    const message = problems({
      CHAIN_ID: 'one',
      DEPOSIT_XPUB: 'xprv9s21ZrQH143K',
      TOKEN_USDT_ERC20_ADDRESS: '0x1234',
      CHAIN_CONFIRMATIONS: '0',
      WATCHER_SIGNING_SECRET: 'short',
      CHAIN_RPC_URL: 'ftp://x',
    });
    for (const name of ['CHAIN_ID', 'DEPOSIT_XPUB', 'TOKEN_USDT_ERC20_ADDRESS', 'CHAIN_CONFIRMATIONS', 'WATCHER_SIGNING_SECRET', 'CHAIN_RPC_URL']) {
      expect(message).toContain(`- ${name} `);
    }
  });
});

describe('the watcher signature', () => {
  const secret = 'whsec_0123456789abcdef0123456789abcdef';
  const body = '{"amount":"1.5"}';

  it('verifies its own signature within five minutes either way, and nothing else', () => {
    const header = signWatcherReport(secret, 1_800_000_000, body);
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/);
    expect(verifyWatcherSignature(header, body, secret, 1_800_000_300)).toEqual({ ok: true });
    expect(verifyWatcherSignature(header, body, secret, 1_799_999_700)).toEqual({ ok: true });
    expect(verifyWatcherSignature(header, body, secret, 1_800_000_301).ok).toBe(false);
    expect(verifyWatcherSignature(header, body, secret, 1_799_999_699).ok).toBe(false);
    expect(verifyWatcherSignature(header, `${body} `, secret, 1_800_000_000).ok).toBe(false);
    expect(verifyWatcherSignature(header, body, `${secret}x`, 1_800_000_000).ok).toBe(false);
    expect(verifyWatcherSignature(header.replace('t=1800000000', 't=1800000001'), body, secret, 1_800_000_000).ok).toBe(false);
  });

  it('accepts any of several v1 signatures (secret rotation) and refuses malformed headers', () => {
    const good = signWatcherReport(secret, 1_800_000_000, body).split(',')[1]!;
    const old = signWatcherReport('whsec_old_old_old_old_old_old_old_old_old', 1_800_000_000, body).split(',')[1]!;
    expect(verifyWatcherSignature(`t=1800000000,${old},${good}`, body, secret, 1_800_000_000)).toEqual({ ok: true });
    for (const header of [undefined, '', 'garbage', `${good}`, 't=1800000000', 't=abc,v1=00', `t=1800000000,v1=${'0'.repeat(64)}`]) {
      expect(verifyWatcherSignature(header, body, secret, 1_800_000_000).ok).toBe(false);
    }
  });

  it("refuses npm start's development deposit key in production: it is derived from a published mnemonic", () => {
    expect(HDKey.fromMasterSeed(mnemonicToSeedSync(DEV_DEPOSIT_MNEMONIC)).derive("m/44'/60'/0'/0").publicExtendedKey).toBe(DEV_DEPOSIT_XPUB);
    expect(problems({ CHAIN_ID: '1', DEPOSIT_XPUB: DEV_DEPOSIT_XPUB, NODE_ENV: 'production' })).toMatch(/DEPOSIT_XPUB is the development key/);
    expect(problems({ CHAIN_ID: '31337', DEPOSIT_XPUB: DEV_DEPOSIT_XPUB })).toBe('');
  });
});

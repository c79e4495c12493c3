/**
 * Deposit addresses: one per token prepay, derived from the operator's extended public key (BIP32
 * public derivation, child index = pre_pay_id). The engine never holds a private key: whoever holds the
 * matching xprv sweeps the funds. The derivation is pure and deterministic, so an address can always be
 * derived again from its index to check the stored row.
 */
import { HDKey } from '@scure/bip32';
import { secp256k1 } from '@noble/curves/secp256k1';
import { bytesToHex, getAddress } from 'viem';
import { publicKeyToAddress } from 'viem/accounts';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { TokenCurrency } from '../domain/money.ts';

/** BIP32 non-hardened child indexes are below 2^31; pre_pay_ids above that need a two-level path. */
export const MAX_DERIVATION_INDEX = 2 ** 31 - 1;

/** Version bytes of extended public (and private) keys: mainnet `xpub`, testnet `tpub`. */
const VERSIONS = {
  xpub: { public: 0x0488b21e, private: 0x0488ade4 },
  tpub: { public: 0x043587cf, private: 0x04358394 },
} as const;

/** Parses an extended public key; a private one is refused, so that no secret is ever configured here. */
export function parseExtendedPublicKey(xpub: string): HDKey {
  const prefix = xpub.slice(0, 4);
  if (prefix !== 'xpub' && prefix !== 'tpub') throw new RangeError('DEPOSIT_XPUB must be an extended public key (xpub… or tpub…)');
  const key = HDKey.fromExtendedKey(xpub, VERSIONS[prefix]);
  if (key.privateKey) throw new RangeError('DEPOSIT_XPUB must not carry a private key');
  return key;
}

/** The checksummed EVM address of child `index` of the extended public key (non-hardened derivation). */
export function deriveDepositAddress(xpub: string | HDKey, index: number): `0x${string}` {
  if (!Number.isSafeInteger(index) || index < 0 || index > MAX_DERIVATION_INDEX) {
    throw new RangeError(`derivation index ${index} is outside 0..${MAX_DERIVATION_INDEX}`);
  }
  const parent = typeof xpub === 'string' ? parseExtendedPublicKey(xpub) : xpub;
  const child = parent.deriveChild(index);
  if (!child.publicKey) throw new Error('derived key has no public key');
  // HD keys carry compressed public keys; an EVM address is keccak of the uncompressed point.
  const uncompressed = secp256k1.ProjectivePoint.fromHex(child.publicKey).toRawBytes(false);
  return getAddress(publicKeyToAddress(bytesToHex(uncompressed)));
}

export interface RegisterDepositAddressInput {
  tenantId: string;
  /** the prepay this address collects for; also the derivation index */
  prePayId: number;
  token: TokenCurrency;
  chainId: number;
  /** DEPOSIT_XPUB (the caller holds the chain settings) */
  depositXpub: string;
}

export interface DepositAddress {
  /** lower-case 0x address: how it is stored and matched against logs */
  address: `0x${string}`;
  /** EIP-55 checksummed, for people */
  checksumAddress: `0x${string}`;
  chainId: number;
  tenantId: string;
  prePayId: number;
  token: TokenCurrency;
  derivationIndex: number;
}

/**
 * Derives and stores the deposit address of a prepay. Safe to repeat (retried activities): the stored
 * row is answered as it is. A prepay id already registered for another tenant or token is an error.
 */
export async function registerDepositAddress(em: EntityManager, input: RegisterDepositAddressInput): Promise<DepositAddress> {
  const checksumAddress = deriveDepositAddress(input.depositXpub, input.prePayId);
  const address = checksumAddress.toLowerCase() as `0x${string}`;
  await em.execute(
    `insert into deposit_addresses (address, chain_id, tenant_id, pre_pay_id, token, derivation_index)
     values (?, ?, ?, ?, ?, ?) on conflict do nothing`,
    [address, input.chainId, input.tenantId, input.prePayId, input.token, input.prePayId],
  );
  const stored = await findDepositAddressByPrepay(em, input.prePayId);
  if (!stored || stored.address !== address || stored.tenantId !== input.tenantId || stored.token !== input.token || stored.chainId !== input.chainId) {
    throw new Error(`pre_pay_id ${input.prePayId} already has another deposit address registration`);
  }
  return stored;
}

interface DepositAddressRow {
  address: string;
  chain_id: string;
  tenant_id: string;
  pre_pay_id: string;
  token: TokenCurrency;
  derivation_index: string;
}

const COLUMNS = 'address, chain_id::text as chain_id, tenant_id, pre_pay_id::text as pre_pay_id, token, derivation_index::text as derivation_index';

export async function findDepositAddressByPrepay(em: EntityManager, prePayId: number): Promise<DepositAddress | null> {
  const [row] = await em.execute<DepositAddressRow[]>(`select ${COLUMNS} from deposit_addresses where pre_pay_id = ?`, [prePayId]);
  return row ? fromRow(row) : null;
}

/** The registered address `address` (any case) on `chainId`, or null when it is not one of ours. */
export async function findDepositAddress(em: EntityManager, chainId: number, address: string): Promise<DepositAddress | null> {
  const [row] = await em.execute<DepositAddressRow[]>(`select ${COLUMNS} from deposit_addresses where address = ? and chain_id = ?`, [address.toLowerCase(), chainId]);
  return row ? fromRow(row) : null;
}

/** Which of `addresses` (lower-case) are deposit addresses on `chainId`: the watcher's filter. */
export async function knownDepositAddresses(em: EntityManager, chainId: number, addresses: string[]): Promise<Set<string>> {
  if (addresses.length === 0) return new Set();
  const unique = [...new Set(addresses.map((address) => address.toLowerCase()))];
  const found = new Set<string>();
  // Chunked: a busy token contract has thousands of recipients in one block range.
  for (let start = 0; start < unique.length; start += 1000) {
    const chunk = unique.slice(start, start + 1000);
    const rows = await em.execute<{ address: string }[]>(`select address from deposit_addresses where chain_id = ? and address in (${chunk.map(() => '?').join(', ')})`, [
      chainId,
      ...chunk,
    ]);
    for (const row of rows) found.add(row.address);
  }
  return found;
}

function fromRow(row: DepositAddressRow): DepositAddress {
  return {
    address: row.address as `0x${string}`,
    checksumAddress: getAddress(row.address),
    chainId: Number(row.chain_id),
    tenantId: row.tenant_id,
    prePayId: Number(row.pre_pay_id),
    token: row.token,
    derivationIndex: Number(row.derivation_index),
  };
}

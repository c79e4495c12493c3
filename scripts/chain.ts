/**
 * `npm run chain:pay -- <pre_pay_id> [amount] [--team <team_id>]`: sends a real ERC20 transfer on the local
 * chain of `npm start`, from a funded development account to the token prepay's deposit address — by
 * default what is still due; a smaller amount is a partial payment, a larger one an overpayment.
 * `npm run chain:mine -- <n>`: mines n blocks, so that the watcher sees the transfer at its depth.
 * Both refuse any chain but the local one `npm start` runs (chain 31337 on 127.0.0.1, described in
 * DATA_DIR/chain/local.json).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createPublicClient, formatUnits, http, parseUnits, type PublicClient } from 'viem';
import { foundry } from 'viem/chains';
import { DEV_ACCOUNTS, LOCAL_CHAIN_ID, mineBlocks, sendTokens, type TokenName } from '../src/dev/local-chain.ts';
import { PROJECT_ROOT } from '../src/dev/temporal-dev-server.ts';
import { CURRENCY_DECIMALS } from '../src/domain/money.ts';
import { DEMO } from '../src/db/seed.ts';

const DATA = process.env.DATA_DIR ? resolve(process.env.DATA_DIR) : join(PROJECT_ROOT, '.data');
const say = (line: string) => process.stdout.write(`${line}\n`);

interface LocalChainInfo {
  chainId: number;
  rpcUrl: string;
  tokens: Record<TokenName, `0x${string}`>;
  apiUrl: string;
}

/** The local chain npm start described, checked to be that chain: never a real one. */
async function localChain(): Promise<LocalChainInfo & { client: PublicClient }> {
  const file = join(DATA, 'chain', 'local.json');
  if (!existsSync(file)) throw new Error(`No local chain described in ${file}: start the engine with \`npm start\` (without CHAIN_* variables) first.`);
  const info = JSON.parse(readFileSync(file, 'utf8')) as LocalChainInfo;
  const host = new URL(info.rpcUrl).hostname;
  if (info.chainId !== LOCAL_CHAIN_ID || !['127.0.0.1', 'localhost'].includes(host)) {
    throw new Error(`Refusing: ${info.rpcUrl} (chain ${info.chainId}) is not the local chain of npm start.`);
  }
  const client = createPublicClient({ chain: foundry, transport: http(info.rpcUrl), cacheTime: 0 }) as PublicClient;
  const served = await client.getChainId().catch(() => {
    throw new Error(`The local chain does not answer on ${info.rpcUrl}: is \`npm start\` running?`);
  });
  if (served !== LOCAL_CHAIN_ID) throw new Error(`Refusing: ${info.rpcUrl} serves chain ${served}, not the local chain ${LOCAL_CHAIN_ID}.`);
  return { ...info, client };
}

function operatorKey(): string {
  const file = join(DATA, 'demo-keys.json');
  if (!existsSync(file)) throw new Error(`No ${file}: start the engine with \`npm start\` first.`);
  return (JSON.parse(readFileSync(file, 'utf8')) as { operatorKey: string }).operatorKey;
}

interface PrepayAnswer {
  payment_type: string;
  status: string;
  amount: string;
  received_amount: string | null;
  deposit_address: string | null;
}

async function pay(args: string[]): Promise<void> {
  const teamAt = args.indexOf('--team');
  const team = teamAt >= 0 ? args[teamAt + 1] : DEMO.tenantId;
  const [prePayId, amountArg] = teamAt >= 0 ? args.filter((_, index) => index !== teamAt && index !== teamAt + 1) : args;
  if (!prePayId || !/^[1-9]\d*$/.test(prePayId)) throw new Error('Usage: npm run chain:pay -- <pre_pay_id> [amount] [--team <team_id>]');
  const chain = await localChain();
  const answer = await fetch(`${chain.apiUrl}/v2alpha/teams/${team}/prepays/${prePayId}`, { headers: { authorization: `Bearer ${operatorKey()}` } });
  const body = (await answer.json()) as PrepayAnswer & { message?: string };
  if (answer.status !== 200) throw new Error(`GET prepay ${prePayId} of team ${team}: ${answer.status} ${body.message ?? ''}`);
  if (body.payment_type === 'USD' || !body.deposit_address) throw new Error(`Prepay ${prePayId} is paid by card, not in tokens.`);
  const token = body.payment_type as TokenName;
  const decimals = CURRENCY_DECIMALS[token];
  const due = parseUnits(body.amount, decimals) - parseUnits(body.received_amount ?? '0', decimals);
  const units = amountArg === undefined ? due : parseUnits(amountArg, decimals);
  if (units <= 0n) throw new Error(`Prepay ${prePayId} has received its ${body.amount} ${token} already; name an amount to send more.`);
  const payer = DEV_ACCOUNTS[1]!;
  const sent = await sendTokens({ url: chain.rpcUrl, client: chain.client, tokens: chain.tokens }, token, body.deposit_address, units, payer);
  const amount = amountArg ?? formatUnits(units, decimals);
  say(`Sent ${amount} ${token} from ${payer.address} to ${body.deposit_address} (prepay ${prePayId}, status ${body.status}).`);
  say(`  transaction ${sent.txHash}, block ${sent.blockNumber}`);
  say('  The watcher counts it once it is deep enough: `npm run chain:mine -- <blocks>` adds blocks.');
}

async function mine(args: string[]): Promise<void> {
  const blocks = Number(args[0] ?? '1');
  if (!Number.isInteger(blocks) || blocks < 1 || blocks > 10_000) throw new Error('Usage: npm run chain:mine -- <blocks, 1 to 10000>');
  const chain = await localChain();
  await mineBlocks(chain.rpcUrl, blocks);
  say(`Mined ${blocks} block${blocks === 1 ? '' : 's'}; the chain is at block ${await chain.client.getBlockNumber()}.`);
}

const [command, ...rest] = process.argv.slice(2);
const commands: Record<string, (args: string[]) => Promise<void>> = { pay, mine };
const run = command ? commands[command] : undefined;
if (!run) {
  process.stderr.write('Usage: node scripts/chain.ts pay|mine …\n');
  process.exit(2);
}
run(rest).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

import { transferAmount, transferKey } from '../../src/domain/token-transfer.ts';

describe('transferAmount', () => {
  it('reads a plain positive amount with at most the token’s decimals, exactly', () => {
    expect(transferAmount({ token: 'ANKR_ERC20', amount: '200.000000000000000001' })?.toFixed()).toBe('200.000000000000000001');
    expect(transferAmount({ token: 'USDT_ERC20', amount: '0.000001' })?.toFixed()).toBe('0.000001');
  });

  it('refuses what cannot be credited: too many decimals, zero, exponents, other currencies, non-strings', () => {
    expect(transferAmount({ token: 'USDT_ERC20', amount: '0.0000001' })).toBeNull();
    expect(transferAmount({ token: 'ANKR_ERC20', amount: '1.0000000000000000001' })).toBeNull();
    expect(transferAmount({ token: 'ANKR_ERC20', amount: '0' })).toBeNull();
    expect(transferAmount({ token: 'ANKR_ERC20', amount: '1e3' })).toBeNull();
    expect(transferAmount({ token: 'ANKR_ERC20', amount: '-1' })).toBeNull();
    expect(transferAmount({ token: 'USD' as never, amount: '1' })).toBeNull();
    expect(transferAmount({ token: 'constructor' as never, amount: '1' })).toBeNull();
    expect(transferAmount({ token: 'ANKR_ERC20', amount: 1 as never })).toBeNull();
  });
});

describe('transferKey', () => {
  it('names a transfer by chain, transaction and log', () => {
    expect(transferKey({ chainId: 1, txHash: '0xab', logIndex: 7 })).toBe('1-0xab-7');
  });
});

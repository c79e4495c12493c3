/** A tenant's cards: gateway reference, brand, last4, expiry; at most one default. */
import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Card } from '../entities/index.ts';
import type { TokenisedCard } from '../../domain/cards.ts';

export async function addCard(em: EntityManager, tenantId: string, gateway: string, card: TokenisedCard, now: Date): Promise<Card> {
  return em.transactional(async (tx) => {
    // Serialise per tenant so that "the first card becomes the default" holds under concurrency.
    await tx.execute('select pg_advisory_xact_lock(hashtext(?))', [`cards:${tenantId}`]);
    const hasDefault = (await tx.count(Card, { tenantId, isDefault: true, deletedAt: null })) > 0;
    const created = tx.create(Card, {
      id: `card_${randomBytes(12).toString('base64url')}`,
      tenantId,
      gateway,
      gatewayRef: card.gatewayRef,
      gatewayCustomerRef: card.customerRef ?? null,
      brand: card.brand,
      last4: card.last4,
      expMonth: card.expMonth,
      expYear: card.expYear,
      isDefault: !hasDefault,
      createdAt: now,
      deletedAt: null,
    });
    await tx.flush();
    return created;
  });
}

export async function listCards(em: EntityManager, tenantId: string): Promise<Card[]> {
  return em.find(Card, { tenantId, deletedAt: null }, { orderBy: { createdAt: 'desc', id: 'desc' } });
}

/** The tenant's live card with that id, or null (another tenant's card is "not found"). */
export async function findTenantCard(em: EntityManager, tenantId: string, cardId: string): Promise<Card | null> {
  return em.findOne(Card, { id: cardId, tenantId, deletedAt: null });
}

export async function defaultCard(em: EntityManager, tenantId: string): Promise<Card | null> {
  return em.findOne(Card, { tenantId, isDefault: true, deletedAt: null });
}

export async function setDefaultCard(em: EntityManager, tenantId: string, cardId: string): Promise<Card | null> {
  return em.transactional(async (tx) => {
    await tx.execute('select pg_advisory_xact_lock(hashtext(?))', [`cards:${tenantId}`]);
    const card = await tx.findOne(Card, { id: cardId, tenantId, deletedAt: null });
    if (!card) return null;
    await tx.execute('update cards set is_default = false where tenant_id = ? and is_default and id <> ?', [tenantId, cardId]);
    card.isDefault = true;
    await tx.flush();
    return card;
  });
}

/** Soft-deletes a card (charges keep pointing at it); a deleted default leaves the tenant without one. */
export async function deleteCard(em: EntityManager, tenantId: string, cardId: string, now: Date): Promise<Card | null> {
  const card = await em.findOne(Card, { id: cardId, tenantId, deletedAt: null });
  if (!card) return null;
  card.deletedAt = now;
  card.isDefault = false;
  await em.flush();
  return card;
}

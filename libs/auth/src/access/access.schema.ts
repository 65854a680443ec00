import { index, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/**
 * Platform roles granted inside the platform (on top of the roles a token carries), per tenant
 * and subject. Managed through {@link AccessStateService}; read by the guard from memory.
 */
export const roleBindings = pgTable(
  'role_bindings',
  {
    tenant: text('tenant').notNull(),
    subject: text('subject').notNull(),
    role: text('role').notNull(),
    grantedBy: text('granted_by').notNull(),
    grantedAt: timestamp('granted_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenant, t.subject, t.role] })],
);

/** Principals switched off by a tenant admin: denied everywhere, whatever their token says. */
export const deactivatedPrincipals = pgTable(
  'deactivated_principals',
  {
    tenant: text('tenant').notNull(),
    subject: text('subject').notNull(),
    deactivatedBy: text('deactivated_by').notNull(),
    deactivatedAt: timestamp('deactivated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenant, t.subject] })],
);

/**
 * Machine clients (client-credentials principals) registered to a tenant by its admins, with the
 * OAuth scopes they may use. A service principal's effective scopes are its token's scopes
 * intersected with these (least privilege, whatever the token says). A binding applies only to
 * tokens naming its tenant: an admin binding another tenant's client id gains nothing and takes
 * nothing from that tenant. Read by the guard from memory.
 */
export const serviceAccounts = pgTable(
  'service_accounts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenant: text('tenant').notNull(),
    /** The OAuth client id (`client_id` / `azp` of its tokens). */
    clientId: text('client_id').notNull(),
    name: text('name').notNull(),
    scopes: text('scopes').array().notNull(),
    status: text('status', { enum: ['active', 'deactivated'] })
      .notNull()
      .default('active'),
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('service_accounts_tenant_client_id_uq').on(t.tenant, t.clientId),
    index('service_accounts_tenant_created_idx').on(t.tenant, t.createdAt, t.id),
  ],
);

export type ServiceAccountRow = typeof serviceAccounts.$inferSelect;

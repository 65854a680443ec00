import { pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

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

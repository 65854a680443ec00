/** Names derived once from the app and resource names given on the command line. */
export interface Names {
  /** kebab-case app name, also its route prefix and permission namespace: `fleet-ops`. */
  app: string;
  /** PascalCase: `FleetOps`. */
  App: string;
  /** CONSTANT_CASE: `FLEET_OPS`. */
  APP: string;
  /** snake_case, for table names: `fleet_ops`. */
  appSnake: string;
  /** kebab-case resource noun, singular and plural: `vehicle`, `vehicles`. */
  res: string;
  ress: string;
  /** PascalCase singular and plural: `Vehicle`, `Vehicles`. */
  Res: string;
  Ress: string;
  /** camelCase plural: `vehicles`. */
  ressCamel: string;
  /** snake_case plural: `vehicles`. */
  ressSnake: string;
}

const pascal = (kebab: string) =>
  kebab
    .split('-')
    .map((p) => p[0].toUpperCase() + p.slice(1))
    .join('');
const plural = (noun: string) =>
  /(s|x|z|ch|sh)$/.test(noun) ? `${noun}es` : /[^aeiou]y$/.test(noun) ? `${noun.slice(0, -1)}ies` : `${noun}s`;

/** Every spelling the templates use. */
export function namesFor(app: string, resource: string): Names {
  const ress = plural(resource);
  const Ress = pascal(ress);
  return {
    app,
    App: pascal(app),
    APP: app.replace(/-/g, '_').toUpperCase(),
    appSnake: app.replace(/-/g, '_'),
    res: resource,
    ress,
    Res: pascal(resource),
    Ress,
    ressCamel: Ress[0].toLowerCase() + Ress.slice(1),
    ressSnake: ress.replace(/-/g, '_'),
  };
}

/** The new app's files: path (relative to the repository) -> content. */
export function appFiles(n: Names): Record<string, string> {
  const dir = `apps/${n.app}/src`;
  const perm = { read: `${n.app}:${n.ress}:read`, write: `${n.app}:${n.ress}:write` };
  return {
    [`${dir}/index.ts`]: `export * from './${n.app}.manifest';\nexport * from './${n.app}.module';\n`,
    [`${dir}/${n.app}.manifest.ts`]: `import type { FeatureAppManifest } from '@platform/feature-apps';

export const ${n.APP}_PERMISSIONS = {
  ${n.ressCamel}Read: '${perm.read}',
  ${n.ressCamel}Write: '${perm.write}',
} as const;

export const ${n.APP}_APP: FeatureAppManifest = {
  name: '${n.app}',
  prefix: '/${n.app}',
  // Machine clients may be granted these scopes (config/policy.yaml maps them to permissions).
  scopes: [${n.APP}_PERMISSIONS.${n.ressCamel}Read, ${n.APP}_PERMISSIONS.${n.ressCamel}Write],
  team: '${n.app}',
  permissions: {
    [${n.APP}_PERMISSIONS.${n.ressCamel}Read]: "Read the tenant's ${n.ress}",
    [${n.APP}_PERMISSIONS.${n.ressCamel}Write]: 'Create ${n.ress}',
  },
};
`,
    [`${dir}/${n.app}.module.ts`]: `import { Module } from '@nestjs/common';
import { ${n.Ress}Controller } from './${n.ress}/${n.ress}.controller';
import { ${n.Ress}Repository } from './${n.ress}/${n.ress}.repository';
import { ${n.Ress}Service } from './${n.ress}/${n.ress}.service';

/** ${n.app}: ${n.ress} per tenant. */
@Module({
  controllers: [${n.Ress}Controller],
  providers: [${n.Ress}Service, ${n.Ress}Repository],
})
export class ${n.App}Module {}
`,
    [`${dir}/${n.ress}/${n.res}.schema.ts`]: `import { index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** The ${n.ress} of each tenant. */
export const ${n.ressCamel} = pgTable(
  '${n.appSnake}_${n.ressSnake}',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenant: text('tenant').notNull(),
    name: text('name').notNull(),
    createdBy: text('created_by').notNull(),
    // Millisecond precision: the same as JavaScript dates, so list cursors are exact.
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index('${n.appSnake}_${n.ressSnake}_tenant_created_idx').on(t.tenant, t.createdAt, t.id)],
);

export type ${n.Res}Row = typeof ${n.ressCamel}.$inferSelect;
`,
    [`${dir}/${n.ress}/${n.res}.dto.ts`]: `import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';
import type { ${n.Res}Row } from './${n.res}.schema';

/** Body of \`POST /${n.app}/${n.ress}\`. */
export class Create${n.Res}Input {
  @ApiProperty({ description: 'Display name', example: 'First ${n.res}' })
  @IsString()
  @Length(1, 200)
  name!: string;
}

/** A ${n.res} as the API returns it. */
export interface ${n.Res}Dto {
  id: string;
  name: string;
  createdBy: string;
  createdAt: string;
}

export function to${n.Res}Dto(row: ${n.Res}Row): ${n.Res}Dto {
  return { id: row.id, name: row.name, createdBy: row.createdBy, createdAt: row.createdAt.toISOString() };
}
`,
    [`${dir}/${n.ress}/${n.ress}.repository.ts`]: `import { Injectable } from '@nestjs/common';
import { and, desc, eq } from 'drizzle-orm';
import { DatabaseService, olderThan } from '@platform/database';
import type { CursorPosition } from '@platform/http';
import { ${n.ressCamel}, type ${n.Res}Row } from './${n.res}.schema';

/** The only place that touches the ${n.ress} table; every query is within one tenant. */
@Injectable()
export class ${n.Ress}Repository {
  constructor(private readonly database: DatabaseService) {}

  async create(values: { tenant: string; name: string; createdBy: string }): Promise<${n.Res}Row> {
    const [row] = await this.database.db.insert(${n.ressCamel}).values(values).returning();
    return row;
  }

  /** The ${n.res} if it exists in this tenant; undefined otherwise (another tenant's is invisible). */
  async findInTenant(tenant: string, id: string): Promise<${n.Res}Row | undefined> {
    const [row] = await this.database.db.select().from(${n.ressCamel}).where(and(eq(${n.ressCamel}.tenant, tenant), eq(${n.ressCamel}.id, id)));
    return row;
  }

  async listByTenant(tenant: string, limit: number, cursor?: CursorPosition): Promise<${n.Res}Row[]> {
    return this.database.db
      .select()
      .from(${n.ressCamel})
      .where(and(eq(${n.ressCamel}.tenant, tenant), olderThan(${n.ressCamel}.createdAt, ${n.ressCamel}.id, cursor)))
      .orderBy(desc(${n.ressCamel}.createdAt), desc(${n.ressCamel}.id))
      .limit(limit);
  }
}
`,
    [`${dir}/${n.ress}/${n.ress}.service.ts`]: `import { Injectable } from '@nestjs/common';
import type { TenantPrincipal } from '@platform/auth';
import { readPage, ResourceNotFoundError, type Page, type PageQuery } from '@platform/http';
import { to${n.Res}Dto, type Create${n.Res}Input, type ${n.Res}Dto } from './${n.res}.dto';
import { ${n.Ress}Repository } from './${n.ress}.repository';

/** ${n.Ress} of the caller's tenant (the guard has made sure the principal has one: \`@TenantPrincipal()\`). */
@Injectable()
export class ${n.Ress}Service {
  constructor(private readonly repository: ${n.Ress}Repository) {}

  async create(principal: TenantPrincipal, input: Create${n.Res}Input): Promise<${n.Res}Dto> {
    return to${n.Res}Dto(await this.repository.create({ tenant: principal.tenant, name: input.name, createdBy: principal.subject }));
  }

  list(principal: TenantPrincipal, query: PageQuery): Promise<Page<${n.Res}Dto>> {
    return readPage(query, (limit, after) => this.repository.listByTenant(principal.tenant, limit, after), to${n.Res}Dto);
  }

  /** @throws ResourceNotFoundError \`${n.res.replace(/-/g, '_')}_not_found\` (also for another tenant's) */
  async get(principal: TenantPrincipal, id: string): Promise<${n.Res}Dto> {
    const row = await this.repository.findInTenant(principal.tenant, id);
    if (!row) throw new ResourceNotFoundError('${n.res.replace(/-/g, '_')}_not_found', 'No ${n.res} with this id exists in your tenant.');
    return to${n.Res}Dto(row);
  }
}
`,
    [`${dir}/${n.ress}/${n.ress}.controller.ts`]: `import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Audited } from '@platform/audit';
import { RequirePermissions, TenantPrincipal } from '@platform/auth';
import { PageQuery, UuidParam, type Page } from '@platform/http';
import { ${n.APP}_PERMISSIONS } from '../${n.app}.manifest';
import { Create${n.Res}Input, type ${n.Res}Dto } from './${n.res}.dto';
import { ${n.Ress}Service } from './${n.ress}.service';

/** ${n.Ress} of the caller's tenant. */
@ApiTags('${n.app}')
@Controller('${n.app}/${n.ress}')
export class ${n.Ress}Controller {
  constructor(private readonly ${n.ressCamel}: ${n.Ress}Service) {}

  @Get()
  @ApiOperation({ summary: '${n.Ress} of your tenant, newest first' })
  @RequirePermissions(${n.APP}_PERMISSIONS.${n.ressCamel}Read)
  list(@TenantPrincipal() principal: TenantPrincipal, @Query() query: PageQuery): Promise<Page<${n.Res}Dto>> {
    return this.${n.ressCamel}.list(principal, query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One ${n.res} of your tenant' })
  @RequirePermissions(${n.APP}_PERMISSIONS.${n.ressCamel}Read)
  get(@TenantPrincipal() principal: TenantPrincipal, @UuidParam() id: string): Promise<${n.Res}Dto> {
    return this.${n.ressCamel}.get(principal, id);
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create a ${n.res}' })
  @RequirePermissions(${n.APP}_PERMISSIONS.${n.ressCamel}Write)
  @Audited('${n.app}.${n.res}.created')
  create(@TenantPrincipal() principal: TenantPrincipal, @Body() input: Create${n.Res}Input): Promise<${n.Res}Dto> {
    return this.${n.ressCamel}.create(principal, input);
  }
}
`,
    [`test/e2e/${n.app}.e2e-spec.ts`]: `import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { profileUsername } from '@platform/dev-idp';
import { TestPlatform } from '../support/test-platform';

describe('${n.app} end to end', () => {
  let platform: TestPlatform;
  const tokens: Record<string, string> = {};
  const as = (who: string, method: string, path: string, body?: unknown) => platform.request(method, path, { token: tokens[who], body });

  beforeAll(async () => {
    platform = await TestPlatform.start();
    tokens.member = await platform.userToken(profileUsername('acme', ['${n.app}-member']));
    tokens.otherTenant = await platform.userToken(profileUsername('globex', ['${n.app}-member']));
    tokens.analyst = await platform.userToken('carol');
    tokens.operator = await platform.userToken('olivia');
  });
  afterAll(() => platform?.close());

  it('401 without a token, 403 without the permission, 400 for an invalid body', async () => {
    expect((await platform.request('GET', '/${n.app}/${n.ress}')).status).toBe(401);
    expect((await as('analyst', 'GET', '/${n.app}/${n.ress}')).body).toMatchObject({ status: 403, reason: 'insufficient_permission' });
    expect((await as('member', 'POST', '/${n.app}/${n.ress}', { name: '' })).status).toBe(400);
  });

  it('a member creates, lists and reads ${n.ress} of the tenant; another tenant gets 404; the creation is audited', async () => {
    const created = await as('member', 'POST', '/${n.app}/${n.ress}', { name: 'First' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'First', id: expect.any(String) });
    expect((await as('member', 'GET', '/${n.app}/${n.ress}')).body.items.map((i: { id: string }) => i.id)).toContain(created.body.id);
    expect((await as('member', 'GET', \`/${n.app}/${n.ress}/\${created.body.id}\`)).body).toMatchObject({ id: created.body.id });
    expect((await as('otherTenant', 'GET', \`/${n.app}/${n.ress}/\${created.body.id}\`)).status).toBe(404);
    expect((await as('member', 'GET', \`/${n.app}/${n.ress}/\${randomUUID()}\`)).status).toBe(404);
    expect(await platform.auditOf(created.requestId)).toMatchObject({ app: '${n.app}', decision: 'allow' });
  });

  it('appears in /platform/apps, /platform/routes and the OpenAPI document', async () => {
    expect((await as('operator', 'GET', '/platform/apps')).body.items.map((a: { name: string }) => a.name)).toContain('${n.app}');
    const routes = (await as('operator', 'GET', '/platform/routes')).body.items.filter((r: { app: string }) => r.app === '${n.app}');
    expect(routes).toHaveLength(3);
    const doc = (await platform.request('GET', '/docs/openapi.json')).body;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/${n.app}/${n.ress}', '/${n.app}/${n.ress}/{id}']));
  });
});
`,
  };
}

/** The role and scopes the new app adds to config/policy.yaml. */
export function policyAdditions(n: Names): { role: string; scopes: string } {
  const perm = { read: `${n.app}:${n.ress}:read`, write: `${n.app}:${n.ress}:write` };
  return {
    role: `  ${n.app}-member:\n    description: "${n.Ress} of the tenant (${n.app})"\n    permissions:\n      - ${perm.read}\n      - ${perm.write}\n`,
    scopes: `  ${perm.read}:\n    description: Read ${n.ress}\n    permissions: [${perm.read}]\n  ${perm.write}:\n    description: Create ${n.ress}\n    permissions: [${perm.write}]\n`,
  };
}

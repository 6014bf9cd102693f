/**
 * One way the three OpenAPI documents (partner, ops, auditor) are generated: @hono/zod-openapi's
 * registry (zod-to-openapi's OpenApiGeneratorV31) over a surface's operations, with its security
 * schemes and the house license. Runtime-neutral (zod and Hono's generator run in workerd and Node).
 */
import { OpenAPIHono, type RouteConfig } from '@hono/zod-openapi';

export type OpenApiRegistry = OpenAPIHono['openAPIRegistry'];
type SecurityScheme = Parameters<OpenApiRegistry['registerComponent']>[2];

export interface ApiSurface {
  info: { title: string; version: string; description: string };
  servers: Array<{ url: string; description: string }>;
  tags: Array<{ name: string; description: string }>;
  securitySchemes: Record<string, SecurityScheme>;
  /** What an operation without its own `security` requires: `[]` says public, explicitly. */
  security: Array<Record<string, string[]>>;
  operations(registry: OpenApiRegistry): RouteConfig[];
}

/** The generator's types are OpenAPI 3.0's: `identifier` (3.1, SPDX) is added by a cast. */
const license = { name: 'Proprietary', identifier: 'LicenseRef-Meridian-Proprietary' } as { name: string };

export function generateOpenApiDocument(surface: ApiSurface) {
  const documents = new OpenAPIHono();
  const registry = documents.openAPIRegistry;
  for (const [name, scheme] of Object.entries(surface.securitySchemes)) registry.registerComponent('securitySchemes', name, scheme);
  for (const operation of surface.operations(registry)) registry.registerPath({ security: surface.security, ...operation });
  return documents.getOpenAPI31Document({ openapi: '3.1.0', info: { ...surface.info, license }, servers: surface.servers, tags: surface.tags });
}

/** The operations' methods and path templates, without generating the document (a 405 table needs only these). */
export function operationRoutes(surface: ApiSurface): Array<{ method: string; path: string }> {
  return surface.operations(new OpenAPIHono().openAPIRegistry).map(({ method, path }) => ({ method, path }));
}

/** A document's bytes, generated on first use and then the same for the life of the isolate or process. */
export function documentBytes(surface: ApiSurface): () => string {
  let generated: string | undefined;
  return () => (generated ??= JSON.stringify(generateOpenApiDocument(surface)));
}

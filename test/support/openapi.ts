// Replicate's OpenAPI description as a checker of the emulator's answers: the JSON body of each
// recorded request must validate against the schema the description gives for its operation and
// status. Any suite that starts the emulator with `recordResponses` can use it.
import fs from 'node:fs';
import path from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020';
import type { RecordedRequest } from '../../emulator';

/** Replicate's description as published (a copy of the team's reference, kept verbatim); from dist/test/support. */
const DESCRIPTION = path.resolve(__dirname, '..', '..', '..', 'test', 'reference', 'replicate-openapi.json');

type Json = Record<string, unknown>;

interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}

/**
 * The description written for OpenAPI 3.0 in places: `nullable: true` becomes a null branch of
 * its type. And a prediction's `version` is `oneOf` a string or the enum ["hidden"], so "hidden"
 * matches both branches and fails `oneOf`; Replicate sends "hidden" for official models, so it is
 * read as `anyOf`, which is what the description means.
 */
function adapt(value: unknown, key?: string): unknown {
  if (Array.isArray(value)) return value.map((item) => adapt(item));
  if (typeof value !== 'object' || value === null) return value;
  const out: Json = {};
  for (const [name, item] of Object.entries(value as Json)) {
    if (name === 'example' || name === 'nullable') continue;
    out[name] = adapt(item, name);
  }
  const schema = value as Json;
  if (schema.nullable === true && typeof schema.type === 'string') out.type = [schema.type, 'null'];
  if (key === 'version' && Array.isArray(schema.oneOf)) {
    out.anyOf = out.oneOf;
    delete out.oneOf;
  }
  return out;
}

export class OpenApiChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly operations: Operation[] = [];
  private readonly compiled = new Map<unknown, ValidateFunction>();

  constructor(file = DESCRIPTION) {
    const description = adapt(JSON.parse(fs.readFileSync(file, 'utf8'))) as Json & {
      paths: Record<string, Record<string, Json>>;
      components: Json;
    };
    this.ajv.addFormat('uri', (text: string) => URL.canParse(text));
    this.ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
    this.ajv.addFormat('int64', true);
    this.ajv.addFormat('binary', true);
    this.ajv.addSchema({ $id: 'replicate', components: description.components });
    for (const [template, methods] of Object.entries(description.paths)) {
      const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
      for (const [method, operation] of Object.entries(methods)) {
        if (typeof operation === 'object' && operation !== null && 'responses' in operation)
          this.operations.push({
            method: method.toUpperCase(),
            template,
            pattern,
            responses: operation.responses as Operation['responses'],
          });
      }
    }
  }

  /** "GET /models/{model_owner}/{model_name}" for a request, or undefined when the description has no such operation. */
  operationOf(method: string, apiPath: string): string | undefined {
    const found = this.find(method, apiPath);
    return found && `${found.method} ${found.template}`;
  }

  /**
   * Problems with the request's recorded answer ([] when it validates). A 2xx JSON answer needs a
   * schema in the description; an error answer is checked where the description gives one.
   */
  problems(request: RecordedRequest): string[] {
    const { response } = request;
    const apiPath = request.path.replace(/^\/v1/, '');
    if (!response || !/json/.test(response.contentType)) return [];
    const operation = this.find(request.method, apiPath);
    const where = `${request.method} ${request.path} → ${response.status}`;
    if (!operation) return [`${where}: the description has no such operation`];
    const answer = operation.responses[String(response.status)];
    const schema = answer?.content?.['application/json']?.schema ?? answer?.content?.['application/problem+json']?.schema;
    if (!schema) return response.status < 300 ? [`${where}: the description has no JSON schema for this status`] : [];
    let validate = this.compiled.get(schema);
    if (!validate) {
      validate = this.ajv.compile({ $ref: '#/$defs/answer', $defs: { answer: rebase(schema) } });
      this.compiled.set(schema, validate);
    }
    if (validate(JSON.parse(response.body))) return [];
    return (validate.errors ?? []).map((error) => `${where}: ${error.instancePath || '/'} ${error.message ?? ''}`);
  }

  private find(method: string, apiPath: string): Operation | undefined {
    return this.operations.find((op) => op.method === method && op.pattern.test(apiPath));
  }
}

/** Local references ("#/components/...") made to point into the registered description. */
function rebase(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(rebase);
  if (typeof schema !== 'object' || schema === null) return schema;
  return Object.fromEntries(
    Object.entries(schema as Json).map(([key, value]) => [
      key,
      key === '$ref' && typeof value === 'string' && value.startsWith('#/') ? `replicate${value}` : rebase(value),
    ]),
  );
}

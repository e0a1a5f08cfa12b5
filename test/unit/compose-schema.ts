// The official Compose Specification schema (a pinned copy: schema/vendor/README.md), compiled once.
import { Ajv } from 'ajv';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const path = fileURLToPath(new URL('../../schema/vendor/compose-spec.json', import.meta.url));
const schema = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
delete schema.$schema; // draft-07 under an https URL ajv does not know by that name
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const validate = ajv.compile(schema);

/** Validates a parsed compose document; returns ajv's error messages (empty when valid). */
export function composeSpecErrors(doc: unknown): string[] {
  return validate(doc) ? [] : (validate.errors ?? []).map((e: { instancePath: string; message?: string }) => `${e.instancePath} ${e.message}`);
}

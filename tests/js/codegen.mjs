#!/usr/bin/env node
// GraphQL Code Generator over ordergraph's schema, as a TypeScript frontend runs it:
// the typescript + typescript-operations plugins with `strictScalars: true`, so that a
// custom scalar without a type mapping below fails generation instead of becoming `any`.
//
//   node tests/js/codegen.mjs <schema.graphql> <output file>
//
// Generates types for tests/js/codegen/operations.graphql into <output file>. Prints
// {"generated": "<output file>"} and exits 0; exits 1 with codegen's error otherwise.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from '@graphql-codegen/cli';

const [schema, output] = process.argv.slice(2);
if (!schema || !output) {
  console.error('usage: node codegen.mjs <schema.graphql> <output file>');
  process.exit(2);
}

// Every custom scalar of schema.graphql and its wire form (README, "Dates and times").
const SCALARS = { DateTime: 'string' };

const here = dirname(fileURLToPath(import.meta.url));
const documents = join(here, 'codegen', 'operations.graphql');
const [schemaPath, outputPath] = [resolve(schema), resolve(output)];
// Codegen finds its plugins from the working directory: run where tests/js's
// node_modules is, whoever calls.
process.chdir(here);
try {
  await generate(
    {
      schema: schemaPath,
      documents,
      silent: true,
      errorsOnly: true,
      generates: {
        [outputPath]: {
          plugins: ['typescript', 'typescript-operations'],
          config: { strictScalars: true, scalars: SCALARS, enumsAsTypes: true },
        },
      },
    },
    true,
  );
  console.log(JSON.stringify({ generated: outputPath }));
} catch (error) {
  // Codegen gathers its failures (with the offending scalar or field) in `errors`.
  const details = error?.errors?.map((inner) => inner.message ?? String(inner)) ?? [];
  const lines = new Set([error instanceof Error ? error.message : String(error), ...details]);
  console.error([...lines].join('\n'));
  process.exitCode = 1;
}

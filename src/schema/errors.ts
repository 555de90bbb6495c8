import { CatalogValidationError, ConflictError, NotFoundError, type FieldProblem } from '../catalog/errors.js';
import { builder } from './builder.js';

/**
 * Expected outcomes as schema types: a mutation's result is the changed object or one of these.
 * Access failures are thrown (UNAUTHENTICATED / FORBIDDEN); anything else is masked.
 */
export const ErrorInterface = builder.interfaceRef<Error>('Error').implement({
  description: 'An expected reason a change was not made. Nothing was written.',
  fields: (t) => ({
    message: t.exposeString('message', { description: 'What went wrong, for a person.' }),
  }),
});

export const FieldErrorRef = builder.objectRef<FieldProblem>('FieldError').implement({
  description: 'A problem with one input field.',
  fields: (t) => ({
    path: t.exposeString('path', { description: 'Dotted path of the field, e.g. `capabilities.0.patterns.1.complexityScore`; empty for the input as a whole.' }),
    message: t.exposeString('message', { description: 'What is wrong with it.' }),
  }),
});

builder.objectType(CatalogValidationError, {
  name: 'ValidationError',
  description: 'The input is invalid; every problem is listed with the field it concerns.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof CatalogValidationError,
  fields: (t) => ({
    fieldErrors: t.field({ type: [FieldErrorRef], resolve: (error) => error.fieldErrors, description: 'Every problem found.' }),
  }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  description: 'The tool, version, capability or pattern named does not exist (or is deleted).',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof NotFoundError,
  fields: (t) => ({
    entity: t.exposeString('entity', { description: 'What was looked for: Tool, ToolVersion, Capability, Pattern.' }),
  }),
});

builder.objectType(ConflictError, {
  name: 'ConflictError',
  description: 'The change is based on an outdated revision or collides with a concurrent one; read again and retry.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ConflictError,
  fields: (t) => ({
    currentRevision: t.exposeInt('currentRevision', { nullable: true, description: 'The tool revision now, when the tool exists.' }),
  }),
});

/** Error types of every mutation that changes a tool. */
export const TOOL_CHANGE_ERRORS = [CatalogValidationError, NotFoundError, ConflictError];

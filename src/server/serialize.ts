import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';
import { writeWithBigInts } from '../airflow/exact-json.js';

type SerializerFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildSerializer'];

/**
 * Fastify's own response serializers (fast-json-stringify, compiled from each route's response schema), made to
 * write a bigint as its digits. An extra may hold an integer beyond 2^53, which the server reads as a bigint so that
 * it keeps every digit (parseJsonExact); fast-json-stringify writes a schema-less value, as an extra's members are,
 * with JSON.stringify, which refuses bigints. Only a document that holds one pays more than the compiled serializer.
 */
export const exactSerializerFactory: SerializerFactory = (externalSchemas, options) => {
  const compile = SerializerSelector()(externalSchemas, options);
  return (route) => {
    const serialize = compile(route);
    return (data: unknown) => writeWithBigInts(data, serialize);
  };
};

// The schema-change gate: compares the last released schema with the current one
// (graphql-inspector's diff) and exits 1 when a change breaks existing clients.
//
//   node check.mjs RELEASED CURRENT
//
// Every change is printed with its criticality. A BREAKING change is allowed only
// when the element it touches was retired in the released schema:
//   - the field, argument, input field or enum value, or the field an argument
//     belongs to, was @deprecated there; or
//   - its type was reachable from the root types only through deprecated elements
//     (the return type of a removed deprecated field may go with it); or
//   - it is a directive that operations cannot use (only type-system locations,
//     such as @goField): clients never send it.
// graphql-inspector itself reports the removal of a deprecated field as BREAKING, and
// its suppressRemovalOfDeprecatedField rule would downgrade every removed type, used
// or not; so the rule is applied here, against the released schema, not by that rule.
// Exit status: 0 when nothing breaks, 1 when something does, 2 when a schema cannot
// be read.
import { readFileSync } from 'node:fs';
import { diff, CriticalityLevel } from '@graphql-inspector/core';
import {
  buildSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isUnionType,
  DirectiveLocation,
} from 'graphql';

const [releasedPath, currentPath] = process.argv.slice(2);
if (!releasedPath || !currentPath) {
  console.error('usage: node check.mjs RELEASED.graphqls CURRENT.graphqls');
  process.exit(2);
}

function load(path) {
  try {
    return buildSchema(readFileSync(path, 'utf8'));
  } catch (err) {
    const lines = [...new Set(err.message.split('\n').filter((l) => l.trim() !== ''))];
    console.error(`schema-check: ${path}: ${lines.join('\n  ')}`);
    process.exit(2);
  }
}

const released = load(releasedPath);
const current = load(currentPath);

const deprecated = (x) => x != null && x.deprecationReason != null;

// live is the set of the released schema's types that an operation reaches from a
// root type without passing a deprecated field, argument or input field.
function liveTypes(schema) {
  const live = new Set();
  const visit = (type) => {
    const t = getNamedType(type);
    if (!t || live.has(t.name)) return;
    live.add(t.name);
    if (isObjectType(t) || isInterfaceType(t)) {
      for (const f of Object.values(t.getFields())) {
        if (deprecated(f)) continue;
        visit(f.type);
        for (const a of f.args) if (!deprecated(a)) visit(a.type);
      }
      for (const i of t.getInterfaces()) visit(i);
    }
    if (isInterfaceType(t) || isUnionType(t)) {
      for (const p of schema.getPossibleTypes(t)) visit(p);
    }
    if (isInterfaceType(t)) {
      for (const i of schema.getImplementations(t).interfaces) visit(i);
    }
    if (isInputObjectType(t)) {
      for (const f of Object.values(t.getFields())) if (!deprecated(f)) visit(f.type);
    }
  };
  for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    if (root) visit(root);
  }
  for (const d of schema.getDirectives()) {
    if (usableInOperations(d)) for (const a of d.args) visit(a.type);
  }
  return live;
}

const executableLocations = new Set([
  DirectiveLocation.QUERY,
  DirectiveLocation.MUTATION,
  DirectiveLocation.SUBSCRIPTION,
  DirectiveLocation.FIELD,
  DirectiveLocation.FRAGMENT_DEFINITION,
  DirectiveLocation.FRAGMENT_SPREAD,
  DirectiveLocation.INLINE_FRAGMENT,
  DirectiveLocation.VARIABLE_DEFINITION,
]);

function usableInOperations(directive) {
  return directive.locations.some((l) => executableLocations.has(l));
}

const live = liveTypes(released);

// retired says why the element at a change's path (Type, Type.field,
// Type.field.argument, Enum.VALUE, Input.field, @directive, @directive.argument) was
// already retired in the released schema, or returns null when it was not.
function retired(path) {
  if (!path) return null;
  const parts = path.split('.');
  if (parts[0].startsWith('@')) {
    const d = released.getDirective(parts[0].slice(1));
    return d && !usableInOperations(d) ? `operations cannot use ${parts[0]}` : null;
  }
  const type = released.getType(parts[0]);
  if (!type) return null;
  if (!live.has(type.name)) return `the released ${type.name} was reachable only through deprecated elements`;
  if (parts.length < 2) return null;
  if (isEnumType(type)) {
    return deprecated(type.getValue(parts[1])) ? `${type.name}.${parts[1]} was deprecated in the released schema` : null;
  }
  if (!isObjectType(type) && !isInterfaceType(type) && !isInputObjectType(type)) return null;
  const field = type.getFields()[parts[1]];
  if (deprecated(field)) return `${type.name}.${parts[1]} was deprecated in the released schema`;
  if (parts.length >= 3 && field && 'args' in field) {
    const arg = field.args.find((a) => a.name === parts[2]);
    if (deprecated(arg)) return `${path} was deprecated in the released schema`;
  }
  return null;
}

const changes = await diff(released, current);
let refused = 0;
const width = 'NON_BREAKING'.length;
for (const c of changes) {
  let level = c.criticality.level;
  let note = '';
  if (level === CriticalityLevel.Breaking) {
    const why = retired(c.path);
    if (why) {
      note = `  (allowed: ${why})`;
    } else {
      refused++;
    }
  }
  // A description's text would span lines: say only what happened to it.
  const described = /_DESCRIPTION_(CHANGED|ADDED|REMOVED)$/.exec(c.type);
  const message = described ? `description ${described[1].toLowerCase()}` : c.message.replace(/\s*\n\s*/g, ' ');
  console.log(`${level.padEnd(width)}  ${c.path ?? ''}: ${message}${note}`);
}

const total = `${changes.length} change${changes.length === 1 ? '' : 's'}`;
if (refused > 0) {
  console.log(
    `\nschema-check: ${total}, ${refused} breaking existing clients: ${currentPath} against ${releasedPath}.\n` +
      'Keep the element and mark it @deprecated(reason: "…") in one release; remove or change it in a later one.',
  );
  process.exit(1);
}
console.log(`schema-check: ${total}, none breaking existing clients.`);

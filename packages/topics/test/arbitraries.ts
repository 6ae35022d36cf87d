import fc from 'fast-check';

/** Small alphabets so that random filters and topics actually collide. */
const literal = fc.constantFrom('a', 'b', 'c', '', '$x', 'long-level');
const topicLevel = literal;
const filterLevel = fc.oneof({ weight: 4, arbitrary: literal }, { weight: 2, arbitrary: fc.constant('+') });

export const topicArb = fc.array(topicLevel, { minLength: 1, maxLength: 5 }).map((ls) => ls.join('/')).filter((t) => t.length > 0);

export const filterArb = fc
  .tuple(fc.array(filterLevel, { minLength: 1, maxLength: 5 }), fc.boolean())
  .map(([ls, hash]) => (hash ? [...ls.slice(0, -1), '#'] : ls).join('/'))
  .filter((f) => f.length > 0);

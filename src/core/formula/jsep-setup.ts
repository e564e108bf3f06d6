import jsep from "jsep";

/**
 * jsep, set up for the formula language. jsep's configuration is global to the process; this
 * module is its only user and sets it once, when first imported.
 *
 * Kept although the language refuses them, so that the user reads "write and" rather than
 * "unexpected &": `&&`, `||`, `!`, `===`, `!==` and `^` (a power in other languages).
 * Removed, so that they are plain syntax errors: the bitwise operators, `??`, `~` and `null`.
 * Everything else jsep knows but the language does not (member access, arrays, strings, `this`,
 * several expressions) still parses, and the conversion to the formula tree refuses it.
 */
for (const operator of ["|", "&", "<<", ">>", ">>>", "??"]) jsep.removeBinaryOp(operator);
jsep.removeUnaryOp("~");
jsep.removeLiteral("null");
// Words, as in Home Assistant's templates. Same precedence as || and &&; `not` binds as tightly as
// `-`, which never changes a result silently: see the note on `not` in check-formula.ts.
jsep.addBinaryOp("or", 1);
jsep.addBinaryOp("and", 2);
jsep.addUnaryOp("not");

/**
 * Keys made from names may start with a digit (`2nd_floor_temperature`), which jsep would
 * refuse as "a variable name starting with a number": read such a word as a name unless it is
 * a number (`12`, `1e5`, or the `1e` of `1e-5`).
 */
const DIGIT_WORD = /[0-9][A-Za-z0-9_$]*/y;
const NUMBER_WORD = /^[0-9]+([eE][0-9]*)?$/;

jsep.plugins.register({
  name: "formula-names-starting-with-digits",
  init() {
    jsep.hooks.add("gobble-token", function nameStartingWithDigit(env) {
      DIGIT_WORD.lastIndex = this.index;
      const word = DIGIT_WORD.exec(this.expr)?.[0];
      if (word === undefined || NUMBER_WORD.test(word)) return;
      this.index += word.length;
      env.node = { type: "Identifier", name: word };
    });
  },
});

export { jsep };

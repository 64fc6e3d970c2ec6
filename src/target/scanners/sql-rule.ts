import type { Rule } from 'eslint';

/** Text that reads as a SQL statement: SELECT … FROM, INSERT INTO, UPDATE … SET, DELETE FROM. */
const SQL_STATEMENT = /\b(?:SELECT\b[\s\S]*\bFROM|INSERT\s+INTO|UPDATE\b[\s\S]*\bSET|DELETE\s+FROM)\b/i;
const HOLE = ' ? ';

type Binary = Extract<Rule.Node, { type: 'BinaryExpression' }>;
type Operand = Binary['left'];

interface Piece {
  text: string;
  dynamic: boolean;
}

function isConcat(node: Rule.Node | Operand | null | undefined): node is Binary {
  return node?.type === 'BinaryExpression' && node.operator === '+';
}

/** The operands of a chain of `+`, left to right. */
function concatOperands(node: Operand, out: Operand[] = []): Operand[] {
  if (isConcat(node)) {
    concatOperands(node.left, out);
    concatOperands(node.right, out);
  } else {
    out.push(node);
  }
  return out;
}

function pieceOf(node: Operand): Piece {
  if (node.type === 'Literal') return { text: String(node.value), dynamic: false };
  if (node.type === 'TemplateLiteral') {
    return {
      text: node.quasis.map((q) => q.value.cooked ?? q.value.raw).join(HOLE),
      dynamic: node.expressions.length > 0,
    };
  }
  return { text: HOLE, dynamic: true };
}

/**
 * `lvlup/sql-concatenation`: SQL text built from non-literal values — a `+` chain with a string that reads as a SQL
 * statement and at least one non-literal operand, or an untagged template literal with interpolations (a tagged
 * template such as sql`…` is left alone: such tags usually parameterize). Known gaps: `+=`, `.concat()`, `.join()`,
 * and SQL split so that no single chain holds the statement's keywords.
 */
export const sqlConcatenationRule: Rule.RuleModule = {
  meta: {
    type: 'problem',
    docs: { description: 'Disallow SQL statements built by string concatenation or template interpolation' },
    schema: [],
    messages: {
      concatenation:
        'SQL statement built by concatenating a non-literal value: use a parameterized query ($1 + values).',
      template:
        'SQL statement built by interpolating values into a template literal: use a parameterized query ($1 + values).',
    },
  },
  create(context) {
    return {
      BinaryExpression(node) {
        if (node.operator !== '+' || isConcat(node.parent)) return;
        const pieces = concatOperands(node).map(pieceOf);
        if (!pieces.some((p) => p.dynamic)) return;
        if (SQL_STATEMENT.test(pieces.map((p) => p.text).join('')))
          context.report({ node, messageId: 'concatenation' });
      },
      TemplateLiteral(node) {
        if (node.expressions.length === 0 || isConcat(node.parent) || node.parent.type === 'TaggedTemplateExpression')
          return;
        if (SQL_STATEMENT.test(pieceOf(node).text)) context.report({ node, messageId: 'template' });
      },
    };
  },
};

/// Parses DynamoDB's expression language into resolved syntax trees.
///
/// A recursive-descent parser over `ExpressionLexer`'s tokens, one method per rule.
/// Condition grammar, loosest binding first (keywords are case-insensitive):
///
/// ```
/// condition  := and ("OR" and)*
/// and        := not ("AND" not)*
/// not        := "NOT" not | primary
/// primary    := "(" condition ")" | function | operand comparator operand
///             | operand "BETWEEN" operand "AND" operand | operand "IN" "(" operand ("," operand)* ")"
/// function   := attribute_exists(path) | attribute_not_exists(path) | attribute_type(path, operand)
///             | begins_with(path, operand) | contains(path, operand)
/// operand    := path | ":value" | size(path)
/// path       := name ("." name | "[" integer "]")*      name := word | "#name"
/// ```
///
/// Update grammar: sections `SET a = v, ...`, `REMOVE path, ...`, `ADD path :v, ...`,
/// `DELETE path :v, ...`, each at most once, in any order; a `SET` value is an operand
/// or `operand + operand` or `operand - operand`, an operand is a path, a value,
/// `if_not_exists(path, operand)` or `list_append(operand, operand)`.
///
/// Placeholders are resolved while parsing, so an undefined one is reported where it is
/// used. A syntax error names the offending token and its surroundings in DynamoDB's
/// words: `Invalid ConditionExpression: Syntax error; token: "AND", near: "a AND AND"`
/// (the token before and after it, as written).
struct ExpressionParser {
    let kind: ExpressionKind
    let source: [UInt8]
    let tokens: [ExpressionToken]
    var position = 0
    var attributes: ExpressionAttributes

    /// Words that are operators, never attribute names.
    static let operatorWords: Set<String> = ["AND", "OR", "NOT", "BETWEEN", "IN"]
    /// The deepest document path accepted.
    static let pathElementsMax = 32
    /// The most parentheses and NOTs a condition may nest (the parser recurses once per level).
    static let conditionNestingMax = 100
    /// How deep the condition being parsed is nested now.
    var nesting = 0

    init(_ text: String, kind: ExpressionKind, attributes: ExpressionAttributes) throws(DynamoError) {
        self.kind = kind
        self.attributes = attributes
        source = Array(text.utf8)
        guard source.count <= DynamoLimits.expressionBytesMax else {
            throw .validation("Invalid \(kind.rawValue): Expression size has exceeded the maximum allowed size; expression size: \(source.count)")
        }
        guard !source.allSatisfy(ExpressionLexer.isSpace) else {
            throw .validation("Invalid \(kind.rawValue): The expression can not be empty;")
        }
        do {
            tokens = try ExpressionLexer(text).tokens()
        } catch {
            throw Self.message(kind: kind, source: source, token: error.token, near: Self.near(source, error.range))
        }
    }

    // MARK: Conditions

    /// A whole condition expression.
    mutating func conditionExpression() throws(DynamoError) -> Condition {
        let condition = try orCondition()
        try expectEnd()
        return condition
    }

    mutating func orCondition() throws(DynamoError) -> Condition {
        var left = try andCondition()
        while current.isKeyword("OR") {
            advance()
            left = .or(left, try andCondition())
        }
        return left
    }

    mutating func andCondition() throws(DynamoError) -> Condition {
        var left = try notCondition()
        while current.isKeyword("AND") {
            advance()
            left = .and(left, try notCondition())
        }
        return left
    }

    mutating func notCondition() throws(DynamoError) -> Condition {
        if current.isKeyword("NOT") {
            advance()
            try enterNesting()
            defer { nesting -= 1 }
            return .not(try notCondition())
        }
        return try primaryCondition()
    }

    mutating func enterNesting() throws(DynamoError) {
        nesting += 1
        guard nesting <= Self.conditionNestingMax else {
            throw .validation("Invalid \(kind.rawValue): The expression nests parentheses and NOT more than \(Self.conditionNestingMax) levels deep")
        }
    }

    mutating func primaryCondition() throws(DynamoError) -> Condition {
        if current.kind == .leftParenthesis {
            advance()
            try enterNesting()
            defer { nesting -= 1 }
            let inner = try orCondition()
            try expect(.rightParenthesis)
            return inner
        }
        if case .word(let word) = current.kind, next.kind == .leftParenthesis, word != "size" {
            return try functionCondition(word)
        }
        let left = try operand()
        if let comparator = Self.comparator(current.kind) {
            advance()
            let right = try operand()
            try checkOrdered(comparator.rawValue, [left, right], when: comparator != .equal && comparator != .notEqual)
            return .comparison(left, comparator, right)
        }
        if current.isKeyword("BETWEEN") {
            advance()
            let lower = try operand()
            try expectKeyword("AND")
            let upper = try operand()
            try checkOrdered("BETWEEN", [left, lower, upper], when: true)
            try checkBounds(lower, upper)
            return .between(left, lower: lower, upper: upper)
        }
        if current.isKeyword("IN") {
            advance()
            try expect(.leftParenthesis)
            var candidates = [try operand()]
            while current.kind == .comma {
                advance()
                candidates.append(try operand())
            }
            try expect(.rightParenthesis)
            guard candidates.count <= DynamoLimits.inOperandsMax else {
                throw .validation("Invalid \(kind.rawValue): The IN operator is provided with too many operands; number of operands: \(candidates.count)")
            }
            return .within(left, candidates)
        }
        throw syntaxError()
    }

    mutating func functionCondition(_ name: String) throws(DynamoError) -> Condition {
        advance()
        advance()
        func pathArgument(_ operand: Operand) throws(DynamoError) -> DocumentPath {
            guard case .path(let path) = operand else {
                throw .validation("Invalid \(kind.rawValue): Operator or function requires a document path; operator or function: \(name)")
            }
            return path
        }
        let condition: Condition
        switch name {
        case "attribute_exists":
            condition = .attributeExists(try pathArgument(try operand()))
        case "attribute_not_exists":
            condition = .attributeNotExists(try pathArgument(try operand()))
        case "attribute_type":
            let path = try pathArgument(try operand())
            try expect(.comma)
            let type = try operand()
            if case .value(let value) = type {
                guard case .string(let typeName) = value else {
                    throw .validation("Invalid \(kind.rawValue): Incorrect operand type for operator or function; operator or function: attribute_type, operand type: \(value.typeName)")
                }
                guard AttributeValue.typeNames.contains(typeName) else {
                    throw .validation("Invalid \(kind.rawValue): Invalid attribute type name found; type: \(typeName), valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}")
                }
            }
            condition = .attributeType(path, type)
        case "begins_with":
            let path = try pathArgument(try operand())
            try expect(.comma)
            let prefix = try operand()
            if case .value(let value) = prefix, value.typeName != "S", value.typeName != "B" {
                throw .validation("Invalid \(kind.rawValue): Incorrect operand type for operator or function; operator or function: begins_with, operand type: \(value.typeName)")
            }
            condition = .beginsWith(path, prefix)
        case "contains":
            let path = try pathArgument(try operand())
            try expect(.comma)
            condition = .contains(path, try operand())
        case "if_not_exists", "list_append", "size":
            throw .validation("Invalid \(kind.rawValue): The function is not allowed to be used this way in an expression; function: \(name)")
        default:
            throw .validation("Invalid \(kind.rawValue): Invalid function name; function: \(name)")
        }
        try expect(.rightParenthesis)
        return condition
    }

    mutating func operand() throws(DynamoError) -> Operand {
        switch current.kind {
        case .valueReference(let reference):
            advance()
            return .value(try attributes.value(reference, in: kind))
        case .word("size") where next.kind == .leftParenthesis:
            advance()
            advance()
            let argument = try operand()
            guard case .path(let path) = argument else {
                throw .validation("Invalid \(kind.rawValue): Operator or function requires a document path; operator or function: size")
            }
            try expect(.rightParenthesis)
            return .size(path)
        case .word(let word) where next.kind == .leftParenthesis:
            throw .validation("Invalid \(kind.rawValue): The function is not allowed to be used this way in an expression; function: \(word)")
        default:
            return .path(try path())
        }
    }

    // MARK: Paths

    mutating func path() throws(DynamoError) -> DocumentPath {
        var elements: [DocumentPath.Element] = [.name(try pathName())]
        while true {
            if current.kind == .dot {
                advance()
                elements.append(.name(try pathName()))
            } else if current.kind == .leftBracket {
                advance()
                guard case .integer(let index) = current.kind else { throw syntaxError() }
                advance()
                try expect(.rightBracket)
                elements.append(.index(index))
            } else {
                break
            }
            guard elements.count <= Self.pathElementsMax else {
                throw .validation("Invalid \(kind.rawValue): The document path has too many nesting levels; nesting levels: \(elements.count)")
            }
        }
        return DocumentPath(elements)
    }

    mutating func pathName() throws(DynamoError) -> String {
        switch current.kind {
        case .word(let word) where !Self.operatorWords.contains(word.uppercased()):
            advance()
            return word
        case .nameReference(let reference):
            advance()
            return try attributes.name(reference, in: kind)
        default:
            throw syntaxError()
        }
    }

    /// A comma-separated list of paths (ProjectionExpression), refusing overlaps.
    mutating func projectionExpression() throws(DynamoError) -> [DocumentPath] {
        var paths = [try path()]
        while current.kind == .comma {
            advance()
            paths.append(try path())
        }
        try expectEnd()
        try checkNoOverlap(paths)
        return paths
    }

    // MARK: Updates

    mutating func updateExpression() throws(DynamoError) -> UpdateExpression {
        var update = UpdateExpression()
        var seen: Set<String> = []
        while current.kind != .end {
            guard case .word(let word) = current.kind, ["SET", "REMOVE", "ADD", "DELETE"].contains(word.uppercased()) else { throw syntaxError() }
            let section = word.uppercased()
            guard seen.insert(section).inserted else {
                throw .validation("Invalid UpdateExpression: The \"\(section)\" section can only be used once in an update expression;")
            }
            advance()
            while true {
                switch section {
                case "SET":
                    let target = try path()
                    try expect(.equal)
                    update.sets.append((target, try setValue()))
                case "REMOVE":
                    update.removes.append(try path())
                case "ADD":
                    let target = try path()
                    let value = try updateValue()
                    guard ["N", "SS", "NS", "BS"].contains(value.typeName) else {
                        throw .validation("Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: \(value.typeName)")
                    }
                    update.adds.append((target, value))
                default:
                    let target = try path()
                    let value = try updateValue()
                    guard ["SS", "NS", "BS"].contains(value.typeName) else {
                        throw .validation("Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: \(value.typeName)")
                    }
                    update.deletes.append((target, value))
                }
                guard current.kind == .comma else { break }
                advance()
            }
        }
        try checkNoOverlap(update.paths)
        return update
    }

    /// The `:value` an ADD or DELETE action takes.
    mutating func updateValue() throws(DynamoError) -> AttributeValue {
        guard case .valueReference(let reference) = current.kind else { throw syntaxError() }
        advance()
        return try attributes.value(reference, in: kind)
    }

    mutating func setValue() throws(DynamoError) -> SetValue {
        let first = try setOperand()
        switch current.kind {
        case .plus, .minus:
            let isPlus = current.kind == .plus
            advance()
            let second = try setOperand()
            for operand in [first, second] {
                if case .value(let value) = operand, value.typeName != "N" {
                    throw .validation("Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: \(isPlus ? "+" : "-"), operand type: \(value.typeName)")
                }
            }
            return isPlus ? .plus(first, second) : .minus(first, second)
        default:
            return .operand(first)
        }
    }

    mutating func setOperand() throws(DynamoError) -> SetOperand {
        switch current.kind {
        case .valueReference(let reference):
            advance()
            return .value(try attributes.value(reference, in: kind))
        case .word(let word) where next.kind == .leftParenthesis:
            advance()
            advance()
            let operand: SetOperand
            switch word {
            case "if_not_exists":
                let target = try path()
                try expect(.comma)
                operand = .ifNotExists(target, try setOperand())
            case "list_append":
                let first = try setOperand()
                try expect(.comma)
                let second = try setOperand()
                for part in [first, second] {
                    if case .value(let value) = part, value.typeName != "L" {
                        throw .validation("Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append, operand type: \(value.typeName)")
                    }
                }
                operand = .listAppend(first, second)
            case "attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains", "size":
                throw .validation("Invalid UpdateExpression: The function is not allowed in an update expression; function: \(word)")
            default:
                throw .validation("Invalid UpdateExpression: Invalid function name; function: \(word)")
            }
            try expect(.rightParenthesis)
            return operand
        default:
            return .path(try path())
        }
    }

    // MARK: Checks

    /// Ordering operators take numbers, strings and binaries: a given value of another type is refused.
    func checkOrdered(_ operatorName: String, _ operands: [Operand], when applies: Bool) throws(DynamoError) {
        guard applies else { return }
        for case .value(let value) in operands where !["N", "S", "B"].contains(value.typeName) {
            throw .validation("Invalid \(kind.rawValue): Incorrect operand type for operator or function; operator or function: \(operatorName), operand type: \(value.typeName)")
        }
    }

    func checkBounds(_ lower: Operand, _ upper: Operand) throws(DynamoError) {
        guard case .value(let low) = lower, case .value(let high) = upper else { return }
        let shown = "lower bound operand: AttributeValue: {\(low.typeName):\(Self.shown(low))}, upper bound operand: AttributeValue: {\(high.typeName):\(Self.shown(high))}"
        guard low.typeName == high.typeName else {
            throw .validation("Invalid \(kind.rawValue): The BETWEEN operator requires same data type for lower and upper bounds; \(shown)")
        }
        if let order = Evaluation.compare(low, high), order > 0 {
            throw .validation("Invalid \(kind.rawValue): The BETWEEN operator requires upper bound to be greater than or equal to lower bound; \(shown)")
        }
    }

    static func shown(_ value: AttributeValue) -> String {
        switch value {
        case .string(let string): String(string.prefix(100))
        case .number(let number): number.description
        default: "..."
        }
    }

    func checkNoOverlap(_ paths: [DocumentPath]) throws(DynamoError) {
        for (index, first) in paths.enumerated() {
            for second in paths[(index + 1)...] where first.overlaps(second) {
                throw .validation("Invalid \(kind.rawValue): Two document paths overlap with each other; must remove or rewrite one of these paths; path one: \(first), path two: \(second)")
            }
        }
    }

    // MARK: Tokens

    var current: ExpressionToken { tokens[position] }
    var next: ExpressionToken { tokens[min(position + 1, tokens.count - 1)] }

    mutating func advance() {
        if position < tokens.count - 1 { position += 1 }
    }

    mutating func expect(_ kind: ExpressionToken.Kind) throws(DynamoError) {
        guard current.kind == kind else { throw syntaxError() }
        advance()
    }

    mutating func expectKeyword(_ keyword: String) throws(DynamoError) {
        guard current.isKeyword(keyword) else { throw syntaxError() }
        advance()
    }

    func expectEnd() throws(DynamoError) {
        guard current.kind == .end else { throw syntaxError() }
    }

    static func comparator(_ kind: ExpressionToken.Kind) -> Comparator? {
        switch kind {
        case .equal: .equal
        case .notEqual: .notEqual
        case .less: .less
        case .lessOrEqual: .lessOrEqual
        case .greater: .greater
        case .greaterOrEqual: .greaterOrEqual
        default: nil
        }
    }

    /// The syntax error at the current token.
    func syntaxError() -> DynamoError {
        let token = current
        let text = token.kind == .end ? "<EOF>" : String(decoding: source[token.range], as: UTF8.self)
        let from = tokens[max(position - 1, 0)].range.lowerBound
        let through = tokens[min(position + 1, tokens.count - 1)].range.upperBound
        return Self.message(kind: kind, source: source, token: text, near: String(decoding: source[from..<max(through, token.range.upperBound)], as: UTF8.self))
    }

    /// The source around a byte range: from the word before it to the word after it.
    static func near(_ source: [UInt8], _ range: Range<Int>) -> String {
        var start = range.lowerBound
        while start > 0, ExpressionLexer.isSpace(source[start - 1]) { start -= 1 }
        while start > 0, !ExpressionLexer.isSpace(source[start - 1]) { start -= 1 }
        var end = range.upperBound
        while end < source.count, ExpressionLexer.isSpace(source[end]) { end += 1 }
        while end < source.count, !ExpressionLexer.isSpace(source[end]) { end += 1 }
        return String(decoding: source[start..<end], as: UTF8.self)
    }

    static func message(kind: ExpressionKind, source: [UInt8], token: String, near: String) -> DynamoError {
        .validation("Invalid \(kind.rawValue): Syntax error; token: \"\(token)\", near: \"\(near)\"")
    }
}

/// Entry points: parse one expression parameter against a request's placeholders.
public enum Expressions {
    /// A ConditionExpression, FilterExpression or KeyConditionExpression.
    public static func condition(_ text: String, kind: ExpressionKind, attributes: inout ExpressionAttributes) throws(DynamoError) -> Condition {
        var parser = try ExpressionParser(text, kind: kind, attributes: attributes)
        let condition = try parser.conditionExpression()
        attributes = parser.attributes
        return condition
    }

    /// An UpdateExpression.
    public static func update(_ text: String, attributes: inout ExpressionAttributes) throws(DynamoError) -> UpdateExpression {
        var parser = try ExpressionParser(text, kind: .update, attributes: attributes)
        let update = try parser.updateExpression()
        attributes = parser.attributes
        return update
    }

    /// A ProjectionExpression.
    public static func projection(_ text: String, attributes: inout ExpressionAttributes) throws(DynamoError) -> [DocumentPath] {
        var parser = try ExpressionParser(text, kind: .projection, attributes: attributes)
        let paths = try parser.projectionExpression()
        attributes = parser.attributes
        return paths
    }
}

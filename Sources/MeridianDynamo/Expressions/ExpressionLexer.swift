/// One token of an expression and where it is in the source (UTF-8 byte offsets).
struct ExpressionToken: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        /// A raw attribute name or a keyword: `[A-Za-z_][A-Za-z0-9_]*`.
        case word(String)
        /// `#name`: an `ExpressionAttributeNames` placeholder.
        case nameReference(String)
        /// `:value`: an `ExpressionAttributeValues` placeholder.
        case valueReference(String)
        /// Decimal digits (a list index).
        case integer(Int)
        case leftParenthesis, rightParenthesis, leftBracket, rightBracket, comma, dot
        case equal, notEqual, less, lessOrEqual, greater, greaterOrEqual, plus, minus
        /// The end of the source.
        case end
    }

    var kind: Kind
    var range: Range<Int>

    /// Whether the token is the keyword `keyword` (keywords are case-insensitive).
    func isKeyword(_ keyword: String) -> Bool {
        if case .word(let word) = kind { return word.uppercased() == keyword }
        return false
    }
}

/// Splits an expression into tokens. Whitespace separates tokens and is otherwise ignored.
struct ExpressionLexer {
    let source: [UInt8]

    init(_ source: String) {
        self.source = Array(source.utf8)
    }

    /// The largest list index accepted, beyond which digits are a syntax error.
    static let indexMax = 1_000_000

    /// Every token of the source, ending with `.end`.
    ///
    /// - Throws: `ExpressionSyntaxError` at the first character that starts no token.
    func tokens() throws(ExpressionSyntaxError) -> [ExpressionToken] {
        var tokens: [ExpressionToken] = []
        var offset = 0
        while offset < source.count {
            let byte = source[offset]
            let start = offset
            if Self.isSpace(byte) {
                offset += 1
                continue
            }
            let kind: ExpressionToken.Kind
            switch byte {
            case UInt8(ascii: "("): kind = .leftParenthesis; offset += 1
            case UInt8(ascii: ")"): kind = .rightParenthesis; offset += 1
            case UInt8(ascii: "["): kind = .leftBracket; offset += 1
            case UInt8(ascii: "]"): kind = .rightBracket; offset += 1
            case UInt8(ascii: ","): kind = .comma; offset += 1
            case UInt8(ascii: "."): kind = .dot; offset += 1
            case UInt8(ascii: "+"): kind = .plus; offset += 1
            case UInt8(ascii: "-"): kind = .minus; offset += 1
            case UInt8(ascii: "="): kind = .equal; offset += 1
            case UInt8(ascii: "<"):
                offset += 1
                if offset < source.count, source[offset] == UInt8(ascii: "=") { kind = .lessOrEqual; offset += 1 }
                else if offset < source.count, source[offset] == UInt8(ascii: ">") { kind = .notEqual; offset += 1 }
                else { kind = .less }
            case UInt8(ascii: ">"):
                offset += 1
                if offset < source.count, source[offset] == UInt8(ascii: "=") { kind = .greaterOrEqual; offset += 1 } else { kind = .greater }
            case UInt8(ascii: "#"), UInt8(ascii: ":"):
                offset += 1
                while offset < source.count, Self.isWordByte(source[offset]) { offset += 1 }
                guard offset > start + 1 else { throw ExpressionSyntaxError(token: String(decoding: [byte], as: UTF8.self), range: start..<offset) }
                let name = String(decoding: source[start..<offset], as: UTF8.self)
                kind = byte == UInt8(ascii: "#") ? .nameReference(name) : .valueReference(name)
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                while offset < source.count, Self.isDigit(source[offset]) { offset += 1 }
                guard offset - start <= 7, let value = Int(String(decoding: source[start..<offset], as: UTF8.self)), value <= Self.indexMax else {
                    throw ExpressionSyntaxError(token: String(decoding: source[start..<offset], as: UTF8.self), range: start..<offset)
                }
                kind = .integer(value)
            default:
                guard Self.isWordStart(byte) else {
                    // One whole character (it may take several bytes) is the offending token.
                    var end = offset + 1
                    while end < source.count, source[end] & 0xC0 == 0x80 { end += 1 }
                    throw ExpressionSyntaxError(token: String(decoding: source[start..<end], as: UTF8.self), range: start..<end)
                }
                while offset < source.count, Self.isWordByte(source[offset]) { offset += 1 }
                kind = .word(String(decoding: source[start..<offset], as: UTF8.self))
            }
            tokens.append(ExpressionToken(kind: kind, range: start..<offset))
        }
        tokens.append(ExpressionToken(kind: .end, range: source.count..<source.count))
        return tokens
    }

    static func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    static func isWordStart(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) || byte == UInt8(ascii: "_")
    }

    static func isWordByte(_ byte: UInt8) -> Bool { isWordStart(byte) || isDigit(byte) }
}

/// A syntax error: the offending token's text and where it is.
struct ExpressionSyntaxError: Error, Sendable, Equatable {
    /// The token's text, or `<EOF>` at the end.
    var token: String
    /// Its UTF-8 byte range in the source.
    var range: Range<Int>
}

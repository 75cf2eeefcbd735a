namespace MoESdk.Tokenization;

/// <summary>One entry of a SentencePiece model's vocabulary; the id is its position.</summary>
internal sealed record SentencePiece(string Piece, float Score, SentencePieceKind Kind);

/// <summary>SentencePiece's piece types, numbered as in sentencepiece_model.proto.</summary>
internal enum SentencePieceKind
{
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}

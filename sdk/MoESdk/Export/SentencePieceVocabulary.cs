using Google.Protobuf;
using MoESdk.Loading;

namespace MoESdk.Export;

/// <summary>
/// Reads the pieces of a SentencePiece <c>tokenizer.model</c> (ModelProto: field 1 the pieces with their text,
/// score and type; field 3 the normalizer, whose add_dummy_prefix is field 3) for llama.cpp's <c>llama</c>
/// vocabulary, which merges by those scores exactly as SentencePiece does.
/// </summary>
internal static class SentencePieceVocabulary
{
    private const int NormalType = 1;

    /// <summary>Pieces, scores and llama.cpp token types (the same numbers as SentencePiece's), and whether a space is prepended.</summary>
    public static (List<string> Pieces, List<float> Scores, List<int> Types, bool AddDummyPrefix) Read(string path)
    {
        var pieces = new List<string>();
        var scores = new List<float>();
        var types = new List<int>();
        bool addDummyPrefix = true;
        try
        {
            var input = new CodedInputStream(File.ReadAllBytes(path));
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                int field = WireFormat.GetTagFieldNumber(tag);
                if (field == 1 && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
                {
                    (string piece, float score, int type) = ReadPiece(input.ReadBytes());
                    pieces.Add(piece);
                    scores.Add(score);
                    types.Add(type);
                }
                else if (field == 3 && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
                {
                    addDummyPrefix = ReadAddDummyPrefix(input.ReadBytes());
                }
                else
                {
                    input.SkipLastField();
                }
            }
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ModelFormatException(path, $"is not a SentencePiece model: {e.Message}", e);
        }
        if (pieces.Count == 0)
        {
            throw new ModelFormatException(path, "has no pieces; not a SentencePiece model");
        }
        return (pieces, scores, types, addDummyPrefix);
    }

    private static (string Piece, float Score, int Type) ReadPiece(ByteString bytes)
    {
        var input = bytes.CreateCodedInput();
        (string piece, float score, int type) = ("", 0f, NormalType);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1:
                    piece = input.ReadString();
                    break;
                case 2:
                    score = input.ReadFloat();
                    break;
                case 3:
                    type = input.ReadInt32();
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }
        return (piece, score, type);
    }

    private static bool ReadAddDummyPrefix(ByteString bytes)
    {
        var input = bytes.CreateCodedInput();
        bool addDummyPrefix = true;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == 3 && WireFormat.GetTagWireType(tag) == WireFormat.WireType.Varint)
            {
                addDummyPrefix = input.ReadBool();
            }
            else
            {
                input.SkipLastField();
            }
        }
        return addDummyPrefix;
    }
}

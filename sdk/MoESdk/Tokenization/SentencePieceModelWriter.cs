using Google.Protobuf;

namespace MoESdk.Tokenization;

/// <summary>
/// Serializes a BPE SentencePiece ModelProto (the fields Microsoft.ML.Tokenizers reads): the <c>tokenizer.model</c> of a
/// model imported from GGUF, whose vocabulary is stored as pieces and scores.
/// </summary>
internal static class SentencePieceModelWriter
{
    private const int BpeModelType = 2;

    public static byte[] Write(IReadOnlyList<SentencePiece> pieces, bool byteFallback, bool addDummyPrefix, int unknownId, int bosId, int eosId)
    {
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        foreach (var piece in pieces)
        {
            WriteMessage(output, 1, o =>
            {
                o.WriteTag(1, WireFormat.WireType.LengthDelimited);
                o.WriteString(piece.Piece);
                o.WriteTag(2, WireFormat.WireType.Fixed32);
                o.WriteFloat(piece.Score);
                o.WriteTag(3, WireFormat.WireType.Varint);
                o.WriteInt32((int)piece.Kind);
            });
        }
        WriteMessage(output, 2, o => // TrainerSpec
        {
            WriteInt(o, 3, BpeModelType);
            WriteInt(o, 35, byteFallback ? 1 : 0);
            WriteInt(o, 40, unknownId);
            WriteInt(o, 41, bosId);
            WriteInt(o, 42, eosId);
        });
        WriteMessage(output, 3, o => // NormalizerSpec: no character map, spaces escaped to '▁'
        {
            o.WriteTag(1, WireFormat.WireType.LengthDelimited);
            o.WriteString("identity");
            WriteInt(o, 3, addDummyPrefix ? 1 : 0);
            WriteInt(o, 4, 0);
            WriteInt(o, 5, 1);
        });
        output.Flush();
        return buffer.ToArray();
    }

    private static void WriteInt(CodedOutputStream output, int field, int value)
    {
        output.WriteTag(field, WireFormat.WireType.Varint);
        output.WriteInt32(value);
    }

    private static void WriteMessage(CodedOutputStream output, int field, Action<CodedOutputStream> writeFields)
    {
        using var buffer = new MemoryStream();
        var inner = new CodedOutputStream(buffer);
        writeFields(inner);
        inner.Flush();
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(buffer.ToArray()));
    }
}

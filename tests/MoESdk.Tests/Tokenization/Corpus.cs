namespace MoESdk.Tests.Tokenization;

internal static class Corpus
{
    public const string Training = """
        In the beginning God created the heaven and the earth.
        And the earth was without form, and void; and darkness was upon the face of the deep.
        And the Spirit of God moved upon the face of the waters.
        And God said, Let there be light: and there was light.
        And God saw the light, that it was good: and God divided the light from the darkness.
        And God called the light Day, and the darkness he called Night. And the evening and the morning were the first day.
        """;

    /// <summary>Text the trainer never saw: unicode, emoji, tabs, double spaces, blank lines, digits.</summary>
    public static readonly string[] Unseen =
    [
        "",
        " ",
        "And God said  twice\n\n\tthen 12345 times!",
        "naïve café — 日本語 😀👍🏽 Ωμέγα",
        "  leading and trailing  \n",
    ];
}

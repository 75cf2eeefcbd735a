using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;

namespace MoESdk.Build
{
    /// <summary>
    /// Names a conversion by what goes into it: the contents of the model files, the calibration text and the converter,
    /// and the item's settings. Equal keys mean equal artifacts, whatever the configuration, RID, TFM or file timestamps.
    /// Hashing a model's weights costs time, so a cheap stamp (sizes and modification times) is kept beside the key, and
    /// the contents are hashed again only when the stamp changes.
    /// </summary>
    internal sealed class ArtifactKey
    {
        /// <summary>Files of a model folder that a conversion reads (the weights, their index, config and tokenizer).</summary>
        private static readonly string[] ModelFilePatterns =
        {
            "config.json", "*.safetensors", "model.safetensors.index.json", "tokenizer.json", "tokenizer.model", "tokenizer_config.json",
            "vocab.json", "merges.txt", "special_tokens_map.json", "generation_config.json", "chat_template.jinja",
        };

        private const string StampPrefix = "stamp=";
        private const string KeyPrefix = "key=";

        private readonly IReadOnlyList<(string Name, string Path)> _files;
        private readonly string _settings;

        private ArtifactKey(IReadOnlyList<(string Name, string Path)> files, string settings)
        {
            _files = files;
            _settings = settings;
        }

        /// <summary>
        /// The inputs of one conversion: the model folder's files, the calibration text, the converter (its MoESdk
        /// assemblies, which carry the converter version) and the settings written as one line.
        /// </summary>
        public static ArtifactKey Of(string modelPath, string calibration, string converterPath, string settings)
        {
            var files = new List<(string Name, string Path)>();
            foreach (string file in ModelFilePatterns.SelectMany(p => Directory.GetFiles(modelPath, p)).Distinct().OrderBy(f => f, StringComparer.Ordinal))
            {
                files.Add(("model/" + Path.GetFileName(file), file));
            }
            files.Add(("calibration", calibration));
            string? converterDirectory = Path.GetDirectoryName(converterPath);
            var converterFiles = converterDirectory != null && Directory.Exists(converterDirectory)
                ? Directory.GetFiles(converterDirectory, "MoESdk*.dll").Concat(new[] { converterPath }).Where(File.Exists).Distinct()
                : Enumerable.Empty<string>();
            foreach (string file in converterFiles.OrderBy(f => f, StringComparer.Ordinal))
            {
                files.Add(("converter/" + Path.GetFileName(file), file));
            }
            return new ArtifactKey(files, settings);
        }

        /// <summary>Sizes and modification times of the inputs, and the settings: cheap, and changes whenever a file may have.</summary>
        public string Stamp()
        {
            var stamp = new StringBuilder(_settings);
            foreach ((string _, string path) in _files)
            {
                var info = new FileInfo(path);
                stamp.Append('|').Append(path).Append(':');
                stamp.Append(info.Exists ? info.Length.ToString(CultureInfo.InvariantCulture) + ":" + info.LastWriteTimeUtc.Ticks.ToString(CultureInfo.InvariantCulture) : "missing");
            }
            return stamp.ToString();
        }

        /// <summary>SHA-256 over the settings and each input's name and contents, hex.</summary>
        public string Hash()
        {
            using (SHA256 sha = SHA256.Create())
            {
                byte[] buffer = new byte[1 << 20];
                AppendText(sha, _settings + "\n");
                foreach ((string name, string path) in _files)
                {
                    AppendText(sha, name + "\0");
                    using (FileStream stream = File.OpenRead(path))
                    {
                        int read;
                        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
                        {
                            sha.TransformBlock(buffer, 0, read, null, 0);
                        }
                    }
                }
                sha.TransformFinalBlock(Array.Empty<byte>(), 0, 0);
                return string.Concat(sha.Hash.Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
            }
        }

        /// <summary>The stamp and key recorded in <paramref name="keyFile"/>, or nulls when there is none.</summary>
        public static (string? Stamp, string? Key) Recorded(string keyFile)
        {
            string[] lines = File.Exists(keyFile) ? File.ReadAllLines(keyFile) : Array.Empty<string>();
            return lines.Length == 2 && lines[0].StartsWith(StampPrefix, StringComparison.Ordinal) && lines[1].StartsWith(KeyPrefix, StringComparison.Ordinal)
                ? (lines[0].Substring(StampPrefix.Length), lines[1].Substring(KeyPrefix.Length))
                : (null, null);
        }

        /// <summary>Records <paramref name="key"/> with the <paramref name="stamp"/> it was computed for.</summary>
        public static void Record(string keyFile, string stamp, string key)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(keyFile)!);
            File.WriteAllLines(keyFile, new[] { StampPrefix + stamp, KeyPrefix + key });
        }

        private static void AppendText(SHA256 sha, string text)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            sha.TransformBlock(bytes, 0, bytes.Length, null, 0);
        }
    }
}

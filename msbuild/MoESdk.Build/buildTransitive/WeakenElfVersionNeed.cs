// Compiled twice: by MSBuild's RoslynCodeTaskFactory from the .targets beside this file (so the solution
// that ships it never loads a task DLL it is itself building, which MSBuild nodes would lock), and into
// MoESdk.Build.dll, the task assembly of the package, which package consumers use instead of compiling it
// on every build. Keep it netstandard2.0 and free of other dependencies.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace MoESdk.Build
{
    /// <summary>
    /// Marks a symbol version that a shared library needs (e.g. <c>GLIBCXX_3.4.32</c>) as weak, in a copy of
    /// the library in the build output, when the system's provider of that version (libstdc++) lacks it.
    /// The dynamic loader then loads the library; this is only safe when no relocation binds a symbol of that
    /// version, which the task verifies before it writes anything.
    /// </summary>
    public sealed class WeakenElfVersionNeed : Task
    {
        /// <summary>The library copies to patch (in the build or publish output, never the package cache).</summary>
        [Required]
        public ITaskItem[] Libraries { get; set; } = Array.Empty<ITaskItem>();

        /// <summary>The needed version to weaken, e.g. GLIBCXX_3.4.32.</summary>
        [Required]
        public string Version { get; set; } = "";

        /// <summary>Candidate paths of the system library that should define <see cref="Version"/>; the first that exists is checked.</summary>
        public ITaskItem[] SystemLibraryCandidates { get; set; } = Array.Empty<ITaskItem>();

        /// <inheritdoc/>
        public override bool Execute()
        {
            string? provider = FirstExisting(SystemLibraryCandidates);
            if (provider != null && ElfVersions.Defines(File.ReadAllBytes(provider), Version))
            {
                Log.LogMessage(MessageImportance.Low, "{0} defines {1}: TorchSharp loads as shipped, nothing to patch.", provider, Version);
                return true;
            }

            foreach (ITaskItem item in Libraries)
            {
                Patch(item.ItemSpec, provider);
            }
            return !Log.HasLoggedErrors;
        }

        private void Patch(string path, string? provider)
        {
            byte[] image = File.ReadAllBytes(path);
            ElfVersions.NeedPatch plan;
            try
            {
                plan = ElfVersions.PlanWeakening(image, Version);
            }
            catch (InvalidDataException ex)
            {
                Log.LogWarning(null, "MOE0002", null, path, 0, 0, 0, 0,
                    "Cannot read '{0}' as an ELF shared library ({1}); it was left unchanged and TorchSharp may fail to load.", path, ex.Message);
                return;
            }

            switch (plan.Outcome)
            {
                case ElfVersions.NeedOutcome.NotNeeded:
                    Log.LogMessage(MessageImportance.Low, "{0} does not need {1}.", path, Version);
                    return;
                case ElfVersions.NeedOutcome.AlreadyWeak:
                    Log.LogMessage(MessageImportance.Low, "{0}: {1} is already weak.", path, Version);
                    return;
                case ElfVersions.NeedOutcome.BoundByRelocations:
                    Log.LogWarning(null, "MOE0001", null, path, 0, 0, 0, 0,
                        "'{0}' needs {1}, which {2} does not define, and relocations bind these symbols to it: {3}. " +
                        "Weakening the version would leave them unresolved, so the library was left unchanged. " +
                        "Install a libstdc++ that provides {1} (GCC 13 or later) to use TorchSharp on this machine.",
                        path, Version, provider ?? "the system libstdc++", string.Join(", ", plan.RelocatedSymbols));
                    return;
            }

            // Write a new file and move it over the old one: the output copy may be a hard link into the
            // NuGet package cache, which must stay untouched.
            ElfVersions.Apply(image, plan);
            string temp = path + ".moesdk-tmp";
            File.WriteAllBytes(temp, image);
            File.Delete(path);
            File.Move(temp, path);
            Log.LogMessage(MessageImportance.Normal,
                "Marked {0} as a weak version need in {1}, because {2} lacks it and no relocation uses its symbols ({3}).",
                Version, path, provider ?? "the system libstdc++", string.Join(", ", plan.UnrelocatedSymbols));
        }

        private static string? FirstExisting(ITaskItem[] candidates)
        {
            foreach (ITaskItem candidate in candidates)
            {
                if (File.Exists(candidate.ItemSpec))
                {
                    return candidate.ItemSpec;
                }
            }
            return null;
        }
    }

    /// <summary>Reads and edits the symbol-versioning sections of a 64-bit little-endian ELF image.</summary>
    public static class ElfVersions
    {
        private const uint ShtRela = 4;
        private const uint ShtRel = 9;
        private const uint ShtDynsym = 11;
        private const uint ShtGnuVerdef = 0x6ffffffd;
        private const uint ShtGnuVerneed = 0x6ffffffe;
        private const uint ShtGnuVersym = 0x6fffffff;
        private const ushort VerFlagWeak = 2;

        /// <summary>What <see cref="PlanWeakening"/> found.</summary>
        public enum NeedOutcome
        {
            /// <summary>The image does not need the version at all.</summary>
            NotNeeded,

            /// <summary>The need is already weak: nothing to do.</summary>
            AlreadyWeak,

            /// <summary>Relocations bind symbols of the version: weakening would leave them unresolved.</summary>
            BoundByRelocations,

            /// <summary>The need can be weakened safely.</summary>
            Weaken,
        }

        /// <summary>What weakening a version need would change, and why it is or is not safe.</summary>
        public sealed class NeedPatch
        {
            /// <summary>What was found.</summary>
            public NeedOutcome Outcome { get; set; }

            /// <summary>File offset of the vna_flags field of the matching Elf64_Vernaux entry.</summary>
            public long FlagsOffset { get; set; } = -1;

            /// <summary>Symbols of the version that relocations bind (weakening is unsafe when any exist).</summary>
            public List<string> RelocatedSymbols { get; } = new List<string>();

            /// <summary>Symbols of the version that no relocation uses.</summary>
            public List<string> UnrelocatedSymbols { get; } = new List<string>();
        }

        /// <summary>True when the image's version definitions (.gnu.version_d) include <paramref name="version"/>.</summary>
        public static bool Defines(byte[] image, string version)
        {
            Section[] sections = ReadSections(image);
            foreach (Section verdef in sections)
            {
                if (verdef.Type != ShtGnuVerdef)
                {
                    continue;
                }
                Section strings = At(sections, verdef.Link);
                long entry = verdef.Offset;
                for (uint i = 0; i < verdef.Info; i++)
                {
                    ushort count = U16(image, entry + 6);
                    long aux = entry + U32(image, entry + 12);
                    for (int j = 0; j < count; j++)
                    {
                        if (Name(image, strings, U32(image, aux)) == version)
                        {
                            return true;
                        }
                        aux += U32(image, aux + 4);
                    }
                    uint next = U32(image, entry + 16);
                    if (next == 0)
                    {
                        break;
                    }
                    entry += next;
                }
            }
            return false;
        }

        /// <summary>Finds the need for <paramref name="version"/> and checks which symbols bind to it.</summary>
        public static NeedPatch PlanWeakening(byte[] image, string version)
        {
            Section[] sections = ReadSections(image);
            var plan = new NeedPatch { Outcome = NeedOutcome.NotNeeded };
            ushort versionIndex = 0;
            foreach (Section verneed in sections)
            {
                if (verneed.Type != ShtGnuVerneed)
                {
                    continue;
                }
                Section strings = At(sections, verneed.Link);
                long entry = verneed.Offset;
                for (uint i = 0; i < verneed.Info && versionIndex == 0; i++)
                {
                    ushort count = U16(image, entry + 2);
                    long aux = entry + U32(image, entry + 8);
                    for (int j = 0; j < count; j++)
                    {
                        if (Name(image, strings, U32(image, aux + 8)) == version)
                        {
                            plan.FlagsOffset = aux + 4;
                            versionIndex = (ushort)(U16(image, aux + 6) & 0x7fff);
                            break;
                        }
                        aux += U32(image, aux + 12);
                    }
                    entry += U32(image, entry + 12);
                }
            }
            if (versionIndex == 0)
            {
                return plan;
            }
            if ((U16(image, plan.FlagsOffset) & VerFlagWeak) != 0)
            {
                plan.Outcome = NeedOutcome.AlreadyWeak;
                return plan;
            }

            CollectBoundSymbols(image, sections, versionIndex, plan);
            plan.Outcome = plan.RelocatedSymbols.Count > 0 ? NeedOutcome.BoundByRelocations : NeedOutcome.Weaken;
            return plan;
        }

        /// <summary>Sets VER_FLG_WEAK on the planned entry, in place.</summary>
        public static void Apply(byte[] image, NeedPatch plan)
        {
            if (plan.Outcome != NeedOutcome.Weaken)
            {
                throw new InvalidOperationException("Only a plan with outcome Weaken can be applied.");
            }
            ushort flags = (ushort)(U16(image, plan.FlagsOffset) | VerFlagWeak);
            image[plan.FlagsOffset] = (byte)flags;
            image[plan.FlagsOffset + 1] = (byte)(flags >> 8);
        }

        private static void CollectBoundSymbols(byte[] image, Section[] sections, ushort versionIndex, NeedPatch plan)
        {
            for (int s = 0; s < sections.Length; s++)
            {
                Section versym = sections[s];
                if (versym.Type != ShtGnuVersym)
                {
                    continue;
                }
                Section dynsym = At(sections, versym.Link);
                if (dynsym.Type != ShtDynsym || dynsym.EntrySize == 0)
                {
                    throw new InvalidDataException(".gnu.version does not link to a dynamic symbol table");
                }
                Section strings = At(sections, dynsym.Link);
                long symbolCount = dynsym.Size / dynsym.EntrySize;
                var bound = new HashSet<long>();
                for (long sym = 0; sym < symbolCount; sym++)
                {
                    if ((U16(image, versym.Offset + sym * 2) & 0x7fff) == versionIndex)
                    {
                        bound.Add(sym);
                    }
                }

                var relocated = new HashSet<long>();
                foreach (Section rel in sections)
                {
                    if ((rel.Type != ShtRela && rel.Type != ShtRel) || rel.Link != versym.Link || rel.EntrySize == 0)
                    {
                        continue;
                    }
                    for (long r = rel.Offset; r + rel.EntrySize <= rel.Offset + rel.Size; r += rel.EntrySize)
                    {
                        long sym = (long)(U64(image, r + 8) >> 32);
                        if (bound.Contains(sym))
                        {
                            relocated.Add(sym);
                        }
                    }
                }

                foreach (long sym in bound)
                {
                    string name = Name(image, strings, U32(image, dynsym.Offset + sym * dynsym.EntrySize));
                    (relocated.Contains(sym) ? plan.RelocatedSymbols : plan.UnrelocatedSymbols).Add(name);
                }
            }
        }

        private struct Section
        {
            public uint Type;
            public long Offset;
            public long Size;
            public uint Link;
            public uint Info;
            public long EntrySize;
        }

        private static Section[] ReadSections(byte[] image)
        {
            if (image.Length < 64 || image[0] != 0x7f || image[1] != (byte)'E' || image[2] != (byte)'L' || image[3] != (byte)'F')
            {
                throw new InvalidDataException("not an ELF file");
            }
            if (image[4] != 2 || image[5] != 1)
            {
                throw new InvalidDataException("only 64-bit little-endian ELF is supported");
            }
            long tableOffset = (long)U64(image, 0x28);
            ushort entrySize = U16(image, 0x3a);
            ushort count = U16(image, 0x3c);
            if (entrySize < 64 || tableOffset <= 0 || tableOffset + (long)entrySize * count > image.Length)
            {
                throw new InvalidDataException("section header table lies outside the file");
            }
            var sections = new Section[count];
            for (int i = 0; i < count; i++)
            {
                long h = tableOffset + (long)i * entrySize;
                sections[i] = new Section
                {
                    Type = U32(image, h + 4),
                    Offset = (long)U64(image, h + 24),
                    Size = (long)U64(image, h + 32),
                    Link = U32(image, h + 40),
                    Info = U32(image, h + 44),
                    EntrySize = (long)U64(image, h + 56),
                };
                // SHT_NOBITS (8) occupies no file bytes; everything else must lie inside the image.
                if (sections[i].Type != 8 && (sections[i].Offset < 0 || sections[i].Size < 0 || sections[i].Offset + sections[i].Size > image.Length))
                {
                    throw new InvalidDataException("section " + i + " lies outside the file");
                }
            }
            return sections;
        }

        private static Section At(Section[] sections, uint index)
        {
            if (index >= sections.Length)
            {
                throw new InvalidDataException("section link " + index + " is out of range");
            }
            return sections[index];
        }

        private static string Name(byte[] image, Section strings, uint offset)
        {
            long start = strings.Offset + offset;
            long end = start;
            long limit = strings.Offset + strings.Size;
            while (end < limit && image[end] != 0)
            {
                end++;
            }
            if (start >= limit || end >= limit)
            {
                throw new InvalidDataException("string offset " + offset + " is outside its string table");
            }
            return Encoding.ASCII.GetString(image, (int)start, (int)(end - start));
        }

        private static ushort U16(byte[] b, long at) => (ushort)(Check(b, at, 2)[at] | b[at + 1] << 8);

        private static uint U32(byte[] b, long at) => (uint)(Check(b, at, 4)[at] | b[at + 1] << 8 | b[at + 2] << 16 | b[at + 3] << 24);

        private static ulong U64(byte[] b, long at) => U32(b, at) | (ulong)U32(b, at + 4) << 32;

        private static byte[] Check(byte[] b, long at, int size)
        {
            if (at < 0 || at + size > b.Length)
            {
                throw new InvalidDataException("read at " + at + " is outside the file");
            }
            return b;
        }
    }
}

using System.Diagnostics;
using MoESdk.Artifacts;
using MoESdk.Tests.Loading;

namespace MoESdk.Tests.Hostile;

/// <summary>
/// Saving an artifact never leaves a half-written one, never loses the one it replaces, and cleans up what a
/// killed save left behind. (Ctrl+C during a save is tested on the real command: HostileCommandLineTests.)
/// </summary>
[Trait("Category", "Unit")]
public class ArtifactSavingTests
{
    private static int DeadProcessId()
    {
        using Process exited = Process.Start(new ProcessStartInfo("true"))!;
        exited.WaitForExit();
        return exited.Id;
    }

    private static string[] Entries(TempFolder folder) => Directory.EnumerateFileSystemEntries(folder.Path).Select(Path.GetFileName).Order().ToArray()!;

    [Fact]
    public void ReplacingAnArtifactLeavesOnlyTheNewOne()
    {
        using var folder = new TempFolder();
        string artifact = folder.File("a.moe");
        HostileModels.Artifact(artifact);
        string before = File.ReadAllText(Path.Combine(artifact, MoEManifest.FileName));
        HostileModels.EditManifest(artifact, m => m["name"] = "old");

        HostileModels.Artifact(artifact);

        Assert.Equal(["a.moe"], Entries(folder));
        Assert.Equal(before, File.ReadAllText(Path.Combine(artifact, MoEManifest.FileName)));
        using LanguageModel model = LanguageModel.Open(artifact);
    }

    [Fact]
    public void APartialFolderOfAKilledSaveIsRemovedByTheNextSave()
    {
        using var folder = new TempFolder();
        string stale = folder.File($"a.moe.partial-{DeadProcessId()}");
        Directory.CreateDirectory(stale);
        File.WriteAllText(Path.Combine(stale, "model.safetensors"), "half");

        HostileModels.Artifact(folder.File("a.moe"));

        Assert.Equal(["a.moe"], Entries(folder));
    }

    [Fact]
    public void APartialFolderOfARunningSaveIsLeftAlone()
    {
        using var folder = new TempFolder();
        using Process running = Process.Start(new ProcessStartInfo("sleep", "60"))!;
        try
        {
            string busy = folder.File($"a.moe.partial-{running.Id}");
            Directory.CreateDirectory(busy);

            HostileModels.Artifact(folder.File("a.moe"));

            Assert.True(Directory.Exists(busy));
        }
        finally
        {
            running.Kill();
        }
    }

    [Fact]
    public void AnOldCopyMovedAsideByAKilledSaveIsRestoredWhenNothingReplacedIt()
    {
        using var folder = new TempFolder();
        string artifact = folder.File("a.moe");
        HostileModels.Artifact(artifact);
        Directory.Move(artifact, folder.File($"a.moe.old-{DeadProcessId()}"));

        new ArtifactDestination(artifact).RecoverInterruptedSaves();

        Assert.Equal(["a.moe"], Entries(folder));
        using LanguageModel model = LanguageModel.Open(artifact);
    }

    [Fact]
    public void AnOldCopyLeftAfterTheNewArtifactMovedInIsDeleted()
    {
        using var folder = new TempFolder();
        string artifact = folder.File("a.moe");
        string old = folder.File($"a.moe.old-{DeadProcessId()}");
        HostileModels.Artifact(old);
        HostileModels.Artifact(artifact);

        new ArtifactDestination(artifact).RecoverInterruptedSaves();

        Assert.Equal(["a.moe"], Entries(folder));
    }

    [Fact]
    public void TheDestinationIsCheckedBeforeAnyWork()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("file.moe"), "not a folder");
        Directory.CreateDirectory(folder.File("photos"));
        File.WriteAllText(folder.File("photos/cat.jpg"), "meow");

        Assert.Contains("is a file", Assert.Throws<IOException>(() => new ArtifactDestination(folder.File("file.moe")).Check()).Message);
        Assert.Contains("is not a MoE artifact", Assert.Throws<IOException>(() => new ArtifactDestination(folder.File("photos")).Check()).Message);
        Assert.Contains("cannot write", Assert.Throws<IOException>(() => new ArtifactDestination(folder.File("file.moe/x.moe")).Check()).Message);
        new ArtifactDestination(folder.File("new/deeper/x.moe")).Check();
        Assert.False(Directory.Exists(folder.File("new/deeper/x.moe")));
        Assert.Equal(["file.moe", "new", "photos"], Entries(folder));
    }
}

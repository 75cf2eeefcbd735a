using System;
using System.IO;
using System.Threading;

namespace MoESdk.Build
{
    /// <summary>
    /// An exclusive lock on one cache key, held across processes: builds of several target frameworks or projects that
    /// convert the same model at once convert it once, and the others wait and reuse it.
    /// </summary>
    internal static class CacheLock
    {
        private static readonly TimeSpan Retry = TimeSpan.FromMilliseconds(250);

        /// <summary>Opens <paramref name="path"/> exclusively, calling <paramref name="waiting"/> once if another process holds it.</summary>
        public static IDisposable Take(string path, Action waiting)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            bool told = false;
            while (true)
            {
                try
                {
                    return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                }
                catch (IOException) when (File.Exists(path))
                {
                    if (!told)
                    {
                        waiting();
                        told = true;
                    }
                    Thread.Sleep(Retry);
                }
            }
        }
    }
}

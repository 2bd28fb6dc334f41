using System;
using System.IO;
using NUnit.Framework;

namespace Merg.Tests
{
    /// <summary>
    /// Where the tests find the package, the repository and the server's Python. build.sh
    /// sets the variables; without them the paths are found by walking up from the test
    /// assembly (inside a Unity project the repository may be absent: tests that need it
    /// are ignored with the reason).
    /// </summary>
    public static class TestEnvironment
    {
        /// <summary>plugins/unity (MERG_UNITY_PACKAGE).</summary>
        public static string PackageRoot
        {
            get
            {
                string fromEnv = Environment.GetEnvironmentVariable("MERG_UNITY_PACKAGE");
                if (!string.IsNullOrEmpty(fromEnv)) return fromEnv;
                string found = FindUp(AppDomain.CurrentDomain.BaseDirectory, IsPackage);
                if (found != null) return found;
                string cwd = Directory.GetCurrentDirectory();
                string repo = FindUp(cwd, dir => IsPackage(Path.Combine(dir, "plugins", "unity")));
                if (repo != null) return Path.Combine(repo, "plugins", "unity");
                // inside a Unity project: an embedded package, or one from git in the cache
                string embedded = Path.Combine(Path.Combine(cwd, "Packages"), "com.merg.sdk");
                if (IsPackage(embedded)) return embedded;
                string cache = Path.Combine(Path.Combine(cwd, "Library"), "PackageCache");
                if (Directory.Exists(cache))
                {
                    foreach (string candidate in Directory.GetDirectories(cache, "com.merg.sdk@*"))
                    {
                        if (IsPackage(candidate)) return candidate;
                    }
                }
                return null;
            }
        }

        /// <summary>The MERG SDK checkout (MERG_REPO_ROOT), or null.</summary>
        public static string RepoRoot
        {
            get
            {
                string fromEnv = Environment.GetEnvironmentVariable("MERG_REPO_ROOT");
                if (!string.IsNullOrEmpty(fromEnv)) return fromEnv;
                string start = PackageRoot ?? AppDomain.CurrentDomain.BaseDirectory;
                return FindUp(start, dir => Directory.Exists(Path.Combine(dir, "merg_sdk")) && File.Exists(Path.Combine(dir, "pyproject.toml")));
            }
        }

        /// <summary>The Python that runs the server (MERG_PYTHON, default .venv/bin/python in the repo).</summary>
        public static string Python
        {
            get
            {
                string fromEnv = Environment.GetEnvironmentVariable("MERG_PYTHON");
                if (!string.IsNullOrEmpty(fromEnv)) return fromEnv;
                string repo = RepoRoot;
                return repo == null ? null : Path.Combine(repo, ".venv", "bin", "python");
            }
        }

        public static string VectorsDir
        {
            get { return Path.Combine(RequirePackage(), "Tests", "vectors"); }
        }

        public static string RequirePackage()
        {
            string root = PackageRoot;
            if (root == null) Assert.Ignore("the com.merg.sdk package folder was not found (set MERG_UNITY_PACKAGE)");
            return root;
        }

        public static string RequireRepo()
        {
            string root = RepoRoot;
            if (root == null) Assert.Ignore("the MERG SDK repository was not found (set MERG_REPO_ROOT)");
            return root;
        }

        private static bool IsPackage(string dir)
        {
            string manifest = Path.Combine(dir, "package.json");
            return File.Exists(manifest) && File.ReadAllText(manifest).Contains("\"com.merg.sdk\"");
        }

        private static string FindUp(string start, Func<string, bool> match)
        {
            var dir = new DirectoryInfo(start);
            while (dir != null)
            {
                if (match(dir.FullName)) return dir.FullName;
                dir = dir.Parent;
            }
            return null;
        }
    }
}

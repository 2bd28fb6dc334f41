using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using Merg.MessagePack;
using Merg.Protocol;
using Merg.Transport;
using NUnit.Framework;

namespace Merg.Tests
{
    /// <summary>
    /// The real Python server on loopback: <c>python -m merg_sdk.cli serve --port N</c>,
    /// started once for the whole run by <see cref="ServerSetUp"/> (loading the voice, the
    /// sentence encoder and the LLM takes tens of seconds) and stopped at the end. It runs
    /// under Tools~/test-server.sh, which kills it when our stdin closes, so a crashed test
    /// process leaves no server behind. Set MERG_TEST_ENDPOINT=host:port to use a server you
    /// started yourself (the restart test is then ignored).
    /// </summary>
    public sealed class TestServer
    {
        public const int ReadyTimeoutMs = 120000;

        private Process wrapper;
        private int serverPid;
        private Stopwatch sinceStart;
        private bool ready;

        private TestServer(string host, int port, bool external)
        {
            Host = host;
            Port = port;
            External = external;
        }

        /// <summary>The server of this test run (null when none could be started).</summary>
        public static TestServer Shared { get; internal set; }

        /// <summary>Why <see cref="Shared"/> is null.</summary>
        public static string Unavailable { get; internal set; }

        public string Host { get; private set; }
        public int Port { get; private set; }
        public bool External { get; private set; }
        public string LogPath { get; private set; }
        /// <summary>Seconds from spawning the process to its first welcome.</summary>
        public double StartupSeconds { get; private set; }

        public static TestServer FromEnvironment()
        {
            string endpoint = Environment.GetEnvironmentVariable("MERG_TEST_ENDPOINT");
            if (!string.IsNullOrEmpty(endpoint))
            {
                int colon = endpoint.LastIndexOf(':');
                return new TestServer(endpoint.Substring(0, colon), int.Parse(endpoint.Substring(colon + 1)), true);
            }
            return new TestServer("127.0.0.1", FreePort(), false);
        }

        public static int FreePort()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            return port;
        }

        /// <summary>Spawns the server; returns at once (see <see cref="WaitReady"/>).</summary>
        public void Start()
        {
            if (External) return;
            string repo = TestEnvironment.RepoRoot;
            string python = TestEnvironment.Python;
            string package = TestEnvironment.PackageRoot;
            if (repo == null || python == null || !File.Exists(python))
                throw new InvalidOperationException("no Python for the server at '" + python + "' (set MERG_PYTHON)");
            string script = Path.Combine(package, "Tools~", "test-server.sh");
            string logDir = Environment.GetEnvironmentVariable("MERG_TEST_LOG_DIR") ?? Path.GetTempPath();
            LogPath = Path.Combine(logDir, "merg-test-server-" + Port + ".log");
            File.AppendAllText(LogPath, "--- starting the server on port " + Port + " at " + DateTime.Now.ToString("o") + "\n");
            var start = new ProcessStartInfo("/bin/sh", Quote(script) + " " + Quote(python) + " " + Port + " " + Quote(LogPath))
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                WorkingDirectory = repo,
            };
            start.EnvironmentVariables["HF_HUB_OFFLINE"] = "1";
            start.EnvironmentVariables["TRANSFORMERS_OFFLINE"] = "1";
            wrapper = Process.Start(start);
            serverPid = int.Parse(wrapper.StandardOutput.ReadLine().Trim());
            sinceStart = Stopwatch.StartNew();
            ready = false;
        }

        private static string Quote(string path)
        {
            return "\"" + path + "\"";
        }

        /// <summary>Polls with hello until the server welcomes (or fails the test with the log).</summary>
        public void WaitReady(int timeoutMs = ReadyTimeoutMs)
        {
            if (ready) return;
            var waiting = Stopwatch.StartNew();
            while (waiting.ElapsedMilliseconds < timeoutMs)
            {
                if (!External && wrapper.HasExited)
                    Assert.Fail("the server exited during start-up:\n" + LogTail());
                if (ProbeWelcome(Host, Port))
                {
                    ready = true;
                    if (sinceStart != null)
                    {
                        StartupSeconds = sinceStart.Elapsed.TotalSeconds;
                        Console.WriteLine("[test-server] welcomed on port " + Port + " after " + StartupSeconds.ToString("F1") + " s");
                    }
                    return;
                }
                Thread.Sleep(250);
            }
            Assert.Fail("no welcome from the server within " + timeoutMs / 1000 + " s:\n" + LogTail());
        }

        /// <summary>One raw ZMTP connection, hello, and a welcome within a few seconds.</summary>
        public static bool ProbeWelcome(string host, int port)
        {
            using (var transport = new ZmtpTransport())
            {
                try
                {
                    transport.Connect(host, port, 1000);
                    var writer = new MsgPackWriter();
                    var hello = HelloRequest.Create("merg-unity-tests", "0", "nunit");
                    hello.Seq = 1;
                    hello.Encode(writer);
                    transport.Send(writer.Buffer, 0, writer.Length);
                    var decoder = new ServerMessageDecoder();
                    var clock = Stopwatch.StartNew();
                    ArraySegment<byte> frame;
                    while (clock.ElapsedMilliseconds < 5000)
                    {
                        if (transport.TryReceive(200, out frame) && decoder.Decode(frame).Kind == ServerMessageKind.Welcome)
                            return true;
                    }
                }
                catch (TransportException)
                {
                    // not listening yet
                }
                return false;
            }
        }

        /// <summary>Stops the server (closing the wrapper's stdin makes it kill the server).</summary>
        public void Stop()
        {
            if (External || wrapper == null) return;
            try
            {
                wrapper.StandardInput.Close();
            }
            catch (Exception)
            {
                // already gone
            }
            if (!wrapper.WaitForExit(15000))
            {
                try
                {
                    Process.GetProcessById(serverPid).Kill();
                    wrapper.Kill();
                }
                catch (Exception)
                {
                    // already gone
                }
            }
            wrapper.Dispose();
            wrapper = null;
            ready = false;
        }

        /// <summary>A new server process on the same port (returns at once).</summary>
        public void Restart()
        {
            Stop();
            Start();
        }

        public string LogTail()
        {
            if (LogPath == null || !File.Exists(LogPath)) return "(no log)";
            string text = File.ReadAllText(LogPath);
            return text.Length > 4000 ? text.Substring(text.Length - 4000) : text;
        }

        /// <summary>The shared server, welcomed; ignores the test when there is none.</summary>
        public static TestServer Require()
        {
            if (Shared == null) Assert.Ignore("no MERG server for this run: " + Unavailable);
            Shared.WaitReady();
            return Shared;
        }
    }

    /// <summary>Starts the one server of the run before any fixture and stops it after all.</summary>
    [SetUpFixture]
    public class ServerSetUp
    {
#if MERG_NUNIT2
        [SetUp]
#else
        [OneTimeSetUp]
#endif
        public void StartServer()
        {
            try
            {
                var server = TestServer.FromEnvironment();
                server.Start(); // loads in the background while the offline fixtures run
                TestServer.Shared = server;
            }
            catch (Exception exc)
            {
                TestServer.Unavailable = exc.Message;
                Console.WriteLine("[test-server] unavailable: " + exc.Message);
            }
        }

#if MERG_NUNIT2
        [TearDown]
#else
        [OneTimeTearDown]
#endif
        public void StopServer()
        {
            Merg.Client.MergClient.ShutdownAll();
            if (TestServer.Shared != null) TestServer.Shared.Stop();
        }
    }
}

using System;
using System.Collections.Generic;

namespace Merg.Transport
{
    /// <summary>
    /// Transports by name, so an optional assembly can offer one without the core or the
    /// Unity layer referencing it: the NetMQ assembly (define MERG_NETMQ) registers "netmq"
    /// when it loads. "zmtp" (the built-in <see cref="ZmtpTransport"/>) is always present.
    /// </summary>
    public static class TransportRegistry
    {
        public const string Zmtp = "zmtp";
        public const string NetMq = "netmq";

        private static readonly object Sync = new object();
        private static readonly Dictionary<string, Func<ITransport>> Factories = new Dictionary<string, Func<ITransport>>(StringComparer.OrdinalIgnoreCase)
        {
            { Zmtp, () => new ZmtpTransport() },
        };

        public static void Register(string name, Func<ITransport> factory)
        {
            if (string.IsNullOrEmpty(name)) throw new ArgumentException("a transport needs a name", "name");
            if (factory == null) throw new ArgumentNullException("factory");
            lock (Sync) Factories[name] = factory;
        }

        public static bool IsAvailable(string name)
        {
            lock (Sync) return name != null && Factories.ContainsKey(name);
        }

        /// <summary>The factory registered under <paramref name="name"/>; throws when there is none.</summary>
        public static Func<ITransport> Get(string name)
        {
            lock (Sync)
            {
                Func<ITransport> factory;
                if (name != null && Factories.TryGetValue(name, out factory)) return factory;
            }
            throw new InvalidOperationException(
                "no transport '" + name + "' is registered" + (string.Equals(name, NetMq, StringComparison.OrdinalIgnoreCase)
                    ? ": add NetMQ to the project and the MERG_NETMQ scripting define (see docs/plugins/unity.md)"
                    : ""));
        }
    }
}

using System;

namespace Merg.Client
{
    /// <summary>
    /// A lock-protected ring with a fixed capacity: the hand-over between the network thread
    /// and the game thread. When full, <see cref="Enqueue"/> drops the oldest item (and
    /// counts it) rather than block the network thread or grow without bound.
    /// </summary>
    public sealed class BoundedQueue<T>
    {
        private readonly object sync = new object();
        private readonly T[] items;
        private int start;
        private int count;

        public BoundedQueue(int capacity)
        {
            if (capacity < 1) throw new ArgumentOutOfRangeException("capacity");
            items = new T[capacity];
        }

        public int Capacity { get { return items.Length; } }

        public int Count { get { lock (sync) return count; } }

        /// <summary>Items dropped because the queue was full.</summary>
        public long Dropped { get; private set; }

        /// <summary>Adds an item; returns false when the oldest item had to be dropped for it.</summary>
        public bool Enqueue(T item)
        {
            lock (sync)
            {
                bool kept = true;
                if (count == items.Length)
                {
                    items[start] = default(T);
                    start = (start + 1) % items.Length;
                    count--;
                    Dropped++;
                    kept = false;
                }
                items[(start + count) % items.Length] = item;
                count++;
                return kept;
            }
        }

        public bool TryDequeue(out T item)
        {
            lock (sync)
            {
                if (count == 0)
                {
                    item = default(T);
                    return false;
                }
                item = items[start];
                items[start] = default(T);
                start = (start + 1) % items.Length;
                count--;
                return true;
            }
        }

        public void Clear()
        {
            lock (sync)
            {
                Array.Clear(items, 0, items.Length);
                start = 0;
                count = 0;
            }
        }
    }
}

namespace MoESdk.Serving;

/// <summary>
/// Thrown when a request arrives while every generation slot is busy and the waiting queue is full. The request
/// was not started; retry later (HTTP servers answer 503 Service Unavailable).
/// </summary>
public sealed class MoEQueueFullException : Exception
{
    public MoEQueueFullException()
    {
    }

    public MoEQueueFullException(string message) : base(message)
    {
    }

    public MoEQueueFullException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public MoEQueueFullException(string model, int running, int waiting)
        : base($"Model '{model}' is busy: {running} requests running and {waiting} waiting, the queue is full. Retry later, or raise QueueCapacity / MaxConcurrentRequests.")
    {
    }
}

using BenchmarkDotNet.Running;
using ImageAspire.Benchmarks;

// dotnet run -c Release --project Tests/Benchmarks -- <pipeline|rss|coldstart|typeloads|web|load|analysis> [options]
var mode = args.FirstOrDefault() ?? "pipeline";
var rest = args.Skip(1).ToArray();
switch (mode)
{
    case "pipeline":
        BenchmarkRunner.Run<PipelineBenchmarks>(args: rest);
        break;
    case "rss":
        MemoryRun.Run();
        break;
    case "rss-child":
        MemoryRun.Child(rest[0]);
        break;
    case "coldstart":
        await ColdStartRun.RunAsync(rest.Length > 0 ? int.Parse(rest[0], System.Globalization.CultureInfo.InvariantCulture) : 10);
        break;
    case "typeloads":
        return await TypeLoadsRun.RunAsync();
    case "web":
        await WebSizeRun.RunAsync();
        break;
    case "load":
        await LoadRun.RunAsync(
            rest.Length > 0 ? int.Parse(rest[0], System.Globalization.CultureInfo.InvariantCulture) : 100,
            rest.Length > 1 ? int.Parse(rest[1], System.Globalization.CultureInfo.InvariantCulture) : 4);
        break;
    case "analysis":
        await AnalysisLatencyRun.RunAsync(rest.Length > 0 ? int.Parse(rest[0], System.Globalization.CultureInfo.InvariantCulture) : 40);
        break;
    default:
        Console.Error.WriteLine("modes: pipeline | rss | coldstart [runs] | typeloads | web | load [uploads] [concurrency] | analysis [uploads]");
        return 2;
}

return 0;

package dev.shears.prune;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The channels to keep, per group, and the warnings met choosing them. Built from scores with
 * {@link #select}; the minimum per group is enforced here, so a plan never empties a group, and every clamp is
 * written into {@link #warnings()} — a threshold that would wipe out a layer is never applied silently.
 */
public record PruningPlan(Map<String, int[]> keep, Map<String, Integer> widths, List<String> warnings) {
    public PruningPlan {
        keep = Collections.unmodifiableMap(new LinkedHashMap<>(keep));
        widths = Collections.unmodifiableMap(new LinkedHashMap<>(widths));
        warnings = List.copyOf(warnings);
    }

    /** Selects from {@code scores} (group name → one score per channel, in forward order). */
    public static PruningPlan select(Map<String, float[]> scores, Criterion criterion, MinKeep min) {
        Map<String, boolean[]> remove = new LinkedHashMap<>();
        scores.forEach((g, s) -> remove.put(g, new boolean[s.length]));
        switch (criterion) {
            case Criterion.Threshold t -> scores.forEach((g, s) -> {
                for (int i = 0; i < s.length; i++) remove.get(g)[i] = s[i] < t.value();
            });
            case Criterion.PerLayerRatio r -> scores.forEach((g, s) -> {
                Integer[] order = ascending(s);
                for (int i = 0; i < (int) Math.floor(r.ratio() * s.length); i++) remove.get(g)[order[i]] = true;
            });
            case Criterion.GlobalRatio r -> {
                record Entry(String group, int channel, float score) {}
                List<Entry> all = new ArrayList<>();
                scores.forEach((g, s) -> { for (int i = 0; i < s.length; i++) all.add(new Entry(g, i, s[i])); });
                all.sort(Comparator.comparingDouble(Entry::score));   // stable: ties go in forward order
                for (int i = 0; i < (int) Math.floor(r.ratio() * all.size()); i++) remove.get(all.get(i).group())[all.get(i).channel()] = true;
            }
        }
        Map<String, int[]> keep = new LinkedHashMap<>();
        Map<String, Integer> widths = new LinkedHashMap<>();
        List<String> warnings = new ArrayList<>();
        scores.forEach((g, s) -> {
            boolean[] rm = remove.get(g);
            int kept = 0;
            for (boolean b : rm) if (!b) kept++;
            int floor = min.of(s.length);
            if (kept < floor) {
                warnings.add(String.format("%s: %s would keep %d of %d channels; kept the %d highest-scoring (minimum %d)",
                        g, criterion.describe(), kept, s.length, floor, floor));
                Integer[] order = ascending(s);
                Arrays.fill(rm, true);
                for (int i = s.length - floor; i < s.length; i++) rm[order[i]] = false;
            }
            int[] k = new int[s.length];
            int n = 0;
            for (int i = 0; i < s.length; i++) if (!rm[i]) k[n++] = i;
            keep.put(g, Arrays.copyOf(k, n));
            widths.put(g, s.length);
        });
        return new PruningPlan(keep, widths, warnings);
    }

    private static Integer[] ascending(float[] s) {
        Integer[] order = new Integer[s.length];
        for (int i = 0; i < s.length; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingDouble(i -> s[i]));
        return order;
    }

    /** Channels removed over all groups. */
    public int removed() {
        int n = 0;
        for (var e : keep.entrySet()) n += widths.get(e.getKey()) - e.getValue().length;
        return n;
    }
}

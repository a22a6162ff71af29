/**
 * The UI's icons as inline SVG (stroke icons on a 24 grid), so nothing is fetched.
 *
 * @module
 */

const PATHS: Record<string, string> = {
  canvas: "M5 5h5v5H5zM14 14h5v5h-5zM14 5h5v5h-5zM10 7.5h4M16.5 10v4M7.5 10v6.5H14",
  clusters: "M4 4h7v7H4zM13 4h7v7h-7zM4 13h7v7H4zM13 13h7v7h-7z",
  roamers: "M12 3l8 4.5v9L12 21l-8-4.5v-9zM12 12l8-4.5M12 12v9M12 12L4 7.5",
  jobs: "M4 6h16M4 12h10M4 18h13M18 10l3 2-3 2",
  exec: "M4 5h16v14H4zM7 9l3 3-3 3M12 15h5",
  audit: "M7 3h8l4 4v14H7zM15 3v4h4M10 12h6M10 16h6",
  network: "M12 4a2 2 0 100 4 2 2 0 000-4zM5 16a2 2 0 100 4 2 2 0 000-4zM19 16a2 2 0 100 4 " +
    "2 2 0 000-4zM12 8v4M12 12l-6 4M12 12l6 4",
  alerts: "M6 16v-5a6 6 0 1112 0v5l2 2H4zM10 20.5a2 2 0 004 0",
  swarm:
    "M3 14h4v4H3zM8 14h4v4H8zM13 14h4v4h-4zM8 9h4v4H8zM13 9h4v4h-4zM13 4h4v4h-4zM18 14c1.8 0 3 1 3 2.5S19.5 20 17 20H4",
  terminal: "M4 5h16v14H4zM7 9l3 3-3 3M12 15h5",
  fit: "M4 9V4h5M15 4h5v5M20 15v5h-5M9 20H4v-5",
  plus: "M12 5v14M5 12h14",
  minus: "M5 12h14",
  search: "M10.5 17a6.5 6.5 0 100-13 6.5 6.5 0 000 13zM15.5 15.5L20 20",
  close: "M6 6l12 12M18 6L6 18",
  layout: "M4 4h16v16H4zM4 10h16M10 10v10",
  map: "M3 6l6-2 6 2 6-2v14l-6 2-6-2-6 2zM9 4v14M15 6v14",
  gpu: "M3 7h18v10H3zM7 11h3v2H7zM13 11h4v2h-4zM6 17v3M18 17v3",
  chip: "M7 7h10v10H7zM10 3v4M14 3v4M10 17v4M14 17v4M3 10h4M3 14h4M17 10h4M17 14h4",
  clock: "M12 21a9 9 0 100-18 9 9 0 000 18zM12 7v5l3 2",
  bolt: "M13 2L4 14h7l-1 8 9-12h-7z",
  temp: "M14 14.8V5a2 2 0 10-4 0v9.8a4 4 0 104 0z",
  refresh: "M20 11a8 8 0 10-2.3 6M20 4v7h-7",
  more: "M5 12h.01M12 12h.01M19 12h.01",
  play: "M7 4l13 8-13 8z",
  stop: "M6 6h12v12H6z",
  trash: "M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13",
  disk:
    "M4 6c0-1.7 3.6-3 8-3s8 1.3 8 3v12c0 1.7-3.6 3-8 3s-8-1.3-8-3zM4 6c0 1.7 3.6 3 8 3s8-1.3 8-3M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3",
  net:
    "M12 21a9 9 0 100-18 9 9 0 000 18zM3 12h18M12 3c2.5 2.5 3.8 5.5 3.8 9s-1.3 6.5-3.8 9M12 3C9.5 5.5 8.2 8.5 8.2 12s1.3 6.5 3.8 9",
  memory: "M4 7h16v10H4zM8 7v10M12 7v10M16 7v10M6 17v3M18 17v3",
  activity: "M3 12h4l3-8 4 16 3-8h4",
  chart: "M4 4v16h16M8 15l3-4 3 2 5-6",
  check: "M5 12.5l4.5 4.5L19 7.5",
  alert: "M12 4l9 16H3zM12 10v4M12 17.5h.01",
  box: "M12 3l8 4.5v9L12 21l-8-4.5v-9zM4 7.5l8 4.5 8-4.5M12 12v9",
  release: "M14 4h5v16h-5M10 8l-4 4 4 4M6 12h10",
  retry: "M4 12a8 8 0 0113.7-5.6L20 8.7M20 4v4.7h-4.7M20 12a8 8 0 01-13.7 5.6L4 15.3M4 20v-4.7h4.7",
  filter: "M4 5h16l-6 7.5V19l-4-2v-4.5z",
  popout: "M14 4h6v6M20 4l-9 9M18 14v5a1 1 0 01-1 1H5a1 1 0 01-1-1V7a1 1 0 011-1h5",
  "chevron-down": "M6 9l6 6 6-6",
  "chevron-up": "M6 15l6-6 6 6",
  backups: "M12 3v10M8 9l4 4 4-4M4 15v4h16v-4M8 17h.01",
  folder: "M3 6h6l2 2h10v11H3z",
  file: "M6 3h8l4 4v14H6zM14 3v4h4",
  link:
    "M10 14a4 4 0 005.7 0l3-3a4 4 0 00-5.7-5.7l-1 1M14 10a4 4 0 00-5.7 0l-3 3a4 4 0 005.7 5.7l1-1",
};

/** One icon; `logo` is the product mark. */
export function Icon({ name, size = 18 }: { name: string; size?: number }) {
  if (name === "logo") {
    return (
      <svg width={size} height={size} viewBox="0 0 32 32" aria-hidden="true" class="logo">
        <rect width="32" height="32" rx="8" fill="#0f1730" />
        <path
          d="M8 9l6 5m10-5l-6 5M8 23l6-5m10 5l-6-5"
          stroke="#22d3ee"
          stroke-width="1.6"
          stroke-linecap="round"
        />
        <circle cx="16" cy="16" r="4.2" fill="#22d3ee" />
        <circle cx="7" cy="8" r="2.6" fill="#34d399" />
        <circle cx="25" cy="8" r="2.6" fill="#34d399" />
        <circle cx="7" cy="24" r="2.6" fill="#fbbf24" />
        <circle cx="25" cy="24" r="2.6" fill="#34d399" />
      </svg>
    );
  }
  return (
    <svg
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      stroke-width="1.8"
      stroke-linecap="round"
      stroke-linejoin="round"
      aria-hidden="true"
    >
      <path d={PATHS[name] ?? PATHS.more} />
    </svg>
  );
}
